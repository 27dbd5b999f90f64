"""Quiz builder: every item grounded in its cited passage, unambiguous, deterministic, and exported cleanly."""

from __future__ import annotations

import json
import re
from argparse import Namespace
from pathlib import Path

import pytest

from indexing.config import Settings
from indexing.types import Document, Obligation, Section
from kb.commands import cmd_quiz
from kb.quiz import build as quiz
from kb.quiz.export import from_csv, from_json, gift_escape, md_escape, to_aiken, to_csv, to_gift, to_json, to_markdown
from kb.quiz.facts import deadline_signature, quiz_facts
from kb.quiz.model import (
    BLANK,
    FACT_TYPES,
    FALSE_TEXT,
    KIND_LABELS,
    KINDS,
    LETTERS,
    TRUE_TEXT,
    QuizCitation,
    QuizItem,
    norm_text,
    same_value,
)
from kb.register.store import Register, build_register, duty_corpus, save_register

REPO_ROOT = Path(__file__).resolve().parent.parent
ALL = 100_000  # more than the corpus can give: "every item"


@pytest.fixture(scope="module")
def corpus(corpus_sections) -> list[tuple[Document, list[Section]]]:
    """The shipped corpus, loaded and structured (no index, no embeddings; shared by the session)."""
    return corpus_sections


@pytest.fixture(scope="module")
def register(corpus_register) -> Register:
    """The obligations register of the whole corpus (shared by the session)."""
    return corpus_register


@pytest.fixture(scope="module")
def texts(corpus) -> dict[str, str]:
    """Normalised text of every document by doc_id."""
    return {doc.doc_id: doc.text for doc, _ in corpus}


@pytest.fixture(scope="module")
def every_item(register) -> dict[str, list[QuizItem]]:
    """All items the whole corpus gives, per kind."""
    return {kind: quiz.generate(register, n=ALL, seed=0, kinds=[kind]) for kind in KINDS}


def _nfkc(s: str) -> str:
    return norm_text(s)


# --- grounding and ambiguity -----------------------------------------------------------------------


def test_every_item_is_grounded_in_its_passage(every_item, texts) -> None:
    """For every item of the whole corpus: the answer is in the cited passage, once; no distractor is."""
    counts = {}
    for kind, items in every_item.items():
        counts[kind] = {t: sum(it.fact_type == t for it in items) for t in FACT_TYPES}
        for it in items:
            c = it.citation
            assert texts[c.doc_id][c.start : c.end] == c.passage, it.id  # verbatim span of the document
            assert it.fact and it.fact in c.passage, it
            assert c.passage.count(it.fact) == 1, it  # the masked span is unambiguous
            assert c.passage in it.explanation  # the explanation quotes the source verbatim
            for d in it.distractors:
                assert d not in c.passage and _nfkc(d) not in _nfkc(c.passage), (it.id, d)
                assert not same_value(it.fact_type, d, it.fact), (it.id, d)
                assert _nfkc(d) != _nfkc(it.fact)
            if kind == "mcq":
                assert it.answer == it.fact
                assert len(it.options) == 4 and len({_nfkc(o) for o in it.options}) == 4, it
                assert it.options[LETTERS.index(it.answer_letter)] == it.answer
                assert sorted(it.distractors) == sorted(o for o in it.options if o != it.answer)
                # distractors are not the same answer as each other either (deadlines: not the same form of
                # the same year, e.g. 2018年底前 and 2018年底)
                if it.fact_type == "deadline":
                    assert len({deadline_signature(d) for d in it.distractors}) == 3, it
                else:
                    for a in it.distractors:
                        assert sum(same_value(it.fact_type, a, b) for b in it.distractors) == 1, it
            elif kind == "blank":
                assert it.answer == it.fact and it.options == [] and BLANK in it.stem
                assert it.fact not in it.stem or it.citation.passage.count(it.fact) == 1
            else:
                assert it.options == [TRUE_TEXT, FALSE_TEXT]
                if it.answer == FALSE_TEXT:
                    assert len(it.distractors) == 1 and it.distractors[0] in it.stem
                else:
                    assert it.answer == TRUE_TEXT and not it.distractors
    print("items from the whole corpus:", json.dumps(counts, ensure_ascii=False))
    # the corpus gives hundreds of items of every kind, with every fact type represented
    for kind in KINDS:
        # after the rules of kb.quiz.rules (review r14: one rule stated by two laws is asked once; r16: a 国务院 key
        # among 国务院 options only: 128 mcq items)
        assert sum(counts[kind].values()) >= 120, counts
        # fill-ins never ask a deadline in the plan's end year (it could only be 2020), nor a modal word
        # and no mcq asks a 2020 deadline either (among earlier years the end year is the odd one out)
        # (a false deadline statement moves the deadline earlier and never before the plan's issue: fewer judge items;
        # how many depends on the seeded draws, 14 to 16 in recent versions)
        # (review r13: options start at the plan's 2017 issue, so an mcq asks only a 2018 or 2019 deadline; and a
        # figure shown in one stem is not asked by another item, which thins the plan's numbers in a bank of all items)
        assert counts[kind]["deadline"] >= {"judge": 12, "blank": 10, "mcq": 1}[kind], counts
        assert counts[kind]["number"] >= 10, counts
        asked = ("penalty", "period", "permit") if kind != "judge" else ("penalty", "period", "ban", "permit")
        assert min(counts[kind][t] for t in asked) >= 8, counts  # time limits: 18 facts, 9 of them mcq
    assert counts["blank"]["ban"] == counts["mcq"]["ban"] == 0, counts  # a modal word is asked true/false only


def test_mixed_quiz_is_grounded_too(register) -> None:
    for seed in (1, 2):
        for it in quiz.generate(register, n=ALL, seed=seed):
            assert it.fact in it.citation.passage
            assert all(d not in it.citation.passage for d in it.distractors)


def test_conflicting_targets_are_never_asked(register, every_item) -> None:
    assert register.conflicts, "the corpus states 城市生活垃圾无害化处理率 as 90% and 75%"
    spans = {(r.doc_id, r.start, r.end) for c in register.conflicts for r in (c.first, c.second)}
    for items in every_item.values():
        for it in items:
            if it.fact_type == "number":
                assert (it.citation.doc_id, it.citation.start, it.citation.end) not in spans, it
                assert not re.search("(城市|城镇)生活垃圾无害化处理率", it.stem), it  # 90% (text) vs 75% (专栏2)


def test_no_duplicates(every_item, register) -> None:
    mixed = quiz.generate(register, n=ALL, seed=7)
    for items in [*every_item.values(), mixed]:
        stems = [it.stem for it in items]
        assert len(stems) == len(set(stems))
        assert len({it.id for it in items}) == len(items)
        spans = [(it.citation.doc_id, it.citation.start, it.citation.end) for it in items]
        assert len(spans) == len(set(spans))  # one passage, one item: no item gives another away
        facts = [(it.fact_type, _nfkc(it.stem.replace(it.fact, "").replace(BLANK, ""))) for it in items]
        assert len(facts) == len(set(facts))


def _record(passage: str, party: str = "", deadline: str = "", **kw) -> Obligation:
    years = re.findall(r"20\d\d", deadline)
    return Obligation(
        ob_id=kw.pop("ob_id", f"t#{abs(hash(passage)) % 10**8}"), doc_id="t", title="测试法", section="第一章",
        action=passage, deadline_kind="end-of-year" if deadline else "none", deadline_text=deadline,
        deadline_date=f"{years[0]}-12-31" if years else "", year=int(years[0]) if years else None,
        party=party or "未明确", party_source="explicit" if party else "none", domain="综合", start=0,
        end=len(passage), passage=passage, **kw,
    )


def test_masked_span_twice_is_skipped() -> None:
    party = "县级以上地方人民政府"
    twice = _record(f"{party}应当组织编制规划，{party}应当公开规划", party=party)
    once = _record("建设单位应当在开工前完成环境影响评价文件的报批手续", party="建设单位", ob_id="t#2")
    facts = quiz_facts(Register(records=[twice, once]))
    assert [f.value for f in facts] == ["建设单位"]


def test_truncated_party_is_skipped() -> None:
    """A party that is only the head of a longer name would make a wrong blank (____市场监督管理部门应当…)."""
    cut = _record("县级以上人民政府市场监督管理部门应当对锅炉生产环节进行监督检查", party="县级以上人民政府")
    whole = _record("县级以上地方人民政府应当组织环境保护等部门，对饮用水水源保护区进行调查评估",
                    party="县级以上地方人民政府", ob_id="t#3")
    assert [f.value for f in quiz_facts(Register(records=[cut, whole]))] == ["县级以上地方人民政府"]


def test_second_correct_answers_are_recognised() -> None:
    same = same_value
    assert same("party", "县级以上地方人民政府", "县级以上人民政府")
    assert same("party", "县级以上地方人民政府", "设区的市、县级人民政府")  # overlapping levels
    assert same("party", "国务院环境保护主管部门", "国务院生态环境主管部门")  # renamed body
    assert same("party", "建设单位", "建设单位和施工单位")
    assert not same("party", "建设单位", "排污单位")
    assert not same("party", "县级以上地方人民政府", "国务院")
    assert same("deadline", "到2020年", "2020年底前")  # the same year
    assert not same("deadline", "2017年底前", "2018年底前")
    assert same("number", "15%", "15.0%")
    assert not same("number", "15%", "18.3%")


# --- determinism and filters -------------------------------------------------------------------------


def test_deterministic_for_a_seed(register) -> None:
    a = [it.to_dict() for it in quiz.generate(register, n=30, seed=42)]
    b = [it.to_dict() for it in quiz.generate(register, n=30, seed=42)]
    c = [it.to_dict() for it in quiz.generate(register, n=30, seed=43)]
    assert a == b
    assert a != c


def test_kinds_take_turns(register) -> None:
    quizzes = [quiz.generate(register, n=9, seed=s) for s in range(10)]
    assert all([it.kind for it in items] == ["mcq", "blank", "judge"] * 3 for items in quizzes)
    kinds_of_fact = [len({it.fact_type for it in items}) for items in quizzes]
    assert min(kinds_of_fact) >= 4 and sum(kinds_of_fact) >= 50, kinds_of_fact  # most kinds in a short quiz


def test_filters(register) -> None:
    plan = "xj-env-13fyp-2017"
    items = quiz.generate(register, n=20, seed=1, doc=plan)
    assert len(items) == 20 and all(it.citation.doc_id == plan for it in items)
    items = quiz.generate(register, n=15, seed=1, domain="大气", kinds=["blank", "judge"])
    assert items and all("大气" in it.domain and it.kind in ("blank", "judge") for it in items)
    items = quiz.generate(register, n=5, seed=1, kinds="mcq")
    assert len(items) == 5 and all(it.kind == "mcq" for it in items)
    assert quiz.generate(register, n=0) == []
    assert quiz.generate(register, n=5, doc="no-such-doc") == []
    with pytest.raises(ValueError):
        quiz.generate(register, kinds=["essay"])
    docs = dict((d, t) for t, d in quiz.quiz_documents(register))
    assert plan in docs and len(docs) >= 15
    assert "大气" in quiz.quiz_domains(register)


def test_is_correct(register) -> None:
    items = quiz.generate(register, n=30, seed=5)
    for it in items:
        assert it.is_correct(it.answer)
        if it.kind == "mcq":
            assert it.is_correct(it.answer_letter.lower())
            assert not any(it.is_correct(d) for d in it.distractors)
        if it.kind == "judge":
            other = FALSE_TEXT if it.answer == TRUE_TEXT else TRUE_TEXT
            assert not it.is_correct(other)
    assert not items[0].is_correct("")


# --- exports -----------------------------------------------------------------------------------------


def _gift_unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _split_unescaped(s: str, markers: str) -> list[tuple[str, str]]:
    """Split an answer block at unescaped marker characters: [(marker, text), ...]."""
    out: list[tuple[str, str]] = []
    cur, mark, i = [], "", 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            cur.append(s[i : i + 2])
            i += 2
            continue
        if ch in markers:
            if mark or "".join(cur).strip():
                out.append((mark, "".join(cur).strip()))
            cur, mark = [], ch
        else:
            cur.append(ch)
        i += 1
    out.append((mark, "".join(cur).strip()))
    return out


def _unescaped_positions(s: str, ch: str) -> list[int]:
    pos, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == ch:
            pos.append(i)
        i += 1
    return pos


def parse_gift(text: str) -> list[dict]:
    """A small structural GIFT parser: title, stem, answers, general feedback of every question."""
    questions = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith(("//", "$CATEGORY"))]
        if not lines:
            continue
        q = " ".join(lines)
        assert q.startswith("::")
        colons = [p for p in _unescaped_positions(q, ":") if p > 1]
        assert len(colons) >= 2 and colons[1] == colons[0] + 1, q  # ::title::
        title, body = q[2 : colons[0]], q[colons[1] + 1 :]
        opens, closes = _unescaped_positions(body, "{"), _unescaped_positions(body, "}")
        assert len(opens) == 1 and len(closes) == 1 and opens[0] < closes[0], body  # braces balance
        assert closes[0] == len(body) - 1  # nothing after the answer block
        stem, block_text = body[: opens[0]].strip(), body[opens[0] + 1 : closes[0]]
        hashes = _unescaped_positions(block_text, "#")
        feedback = ""
        if hashes:
            assert block_text[hashes[0] : hashes[0] + 4] == "####", block_text
            feedback = block_text[hashes[0] + 4 :]
            block_text = block_text[: hashes[0]]
        assert len(_unescaped_positions(block_text, "#")) == 0
        answers = block_text.strip()
        if answers in ("TRUE", "FALSE", "T", "F"):
            qtype, parts = "tf", [("", answers)]
        else:
            parts = [p for p in _split_unescaped(answers, "=~") if p[0]]
            assert all(t for _, t in parts)
            qtype = "mc" if any(m == "~" for m, _ in parts) else "short"
        questions.append({"title": _gift_unescape(title), "stem": _gift_unescape(stem), "type": qtype,
                          "answers": [(m, _gift_unescape(t)) for m, t in parts],
                          "feedback": _gift_unescape(feedback)})
    return questions


def test_gift_parses_structurally(register) -> None:
    items = quiz.generate(register, n=60, seed=11)
    parsed = parse_gift(to_gift(items))
    assert len(parsed) == len(items)
    for q, it in zip(parsed, items, strict=True):
        assert q["stem"] == re.sub(r"\s+", " ", it.stem).strip()
        assert it.citation.passage.split()[0] in q["feedback"]  # the source travels as general feedback
        if it.kind == "mcq":
            assert q["type"] == "mc"
            assert len(q["answers"]) == 4
            right = [t for m, t in q["answers"] if m == "="]
            assert right == [it.answer]  # exactly one correct option
            assert sorted(t for _, t in q["answers"]) == sorted(it.options)
        elif it.kind == "blank":
            assert q["type"] == "short" and q["answers"] == [("=", it.answer)]
        else:
            assert q["type"] == "tf"
            assert q["answers"][0][1] == ("TRUE" if it.answer == TRUE_TEXT else "FALSE")


def test_gift_escapes_special_characters() -> None:
    assert gift_escape("a~b=c#d{e}f:g\\h") == "a\\~b\\=c\\#d\\{e\\}f\\:g\\\\h"
    cit = QuizCitation("d", "法", "章", "x=1 {y}: ~z #", 0, 13)
    it = QuizItem(id="q-1", kind="mcq", stem="a{b}:c=?", options=["=1", "~2", "{3}", "4:"], answer="=1",
                       answer_letter="A", explanation="原文：“x=1 {y}: ~z #”", citation=cit, domain="综合", ob_id="",
                       fact_type="number", fact="=1", distractors=["~2", "{3}", "4:"])
    (q,) = parse_gift(to_gift([it]))
    assert q["stem"] == "a{b}:c=?"
    assert [t for m, t in q["answers"] if m == "="] == ["=1"]
    assert sorted(t for _, t in q["answers"]) == sorted(it.options)


def parse_aiken(text: str) -> list[dict]:
    """A small structural Aiken parser."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        assert len(lines) >= 4
        question, *opts, answer = lines
        assert question and not re.match(r"^[A-Z][.)] ", question)
        letters = []
        options = []
        for ln in opts:
            m = re.fullmatch(r"([A-Z])\. (\S.*)", ln)
            assert m, ln
            letters.append(m.group(1))
            options.append(m.group(2))
        assert letters == list("ABCD"[: len(letters)])
        m = re.fullmatch(r"ANSWER: ([A-Z])", answer)
        assert m, answer
        assert m.group(1) in letters  # the answer letter is one of the options
        out.append({"question": question, "options": options, "answer": m.group(1)})
    return out


def test_aiken_parses_structurally(register) -> None:
    items = quiz.generate(register, n=30, seed=2)
    mcq = [it for it in items if it.kind == "mcq"]
    parsed = parse_aiken(to_aiken(items))
    assert len(parsed) == len(mcq) == 10  # other kinds are left out
    for q, it in zip(parsed, mcq, strict=True):
        assert len(q["options"]) == 4
        assert q["options"] == it.options
        assert q["options"]["ABCD".index(q["answer"])] == it.answer
    assert to_aiken([it for it in items if it.kind != "mcq"]) == ""


def test_csv_and_json_round_trip(register) -> None:
    items = quiz.generate(register, n=40, seed=9)
    text = to_csv(items)
    assert text.startswith("\ufeff") and text.splitlines()[0].lstrip("\ufeff").startswith("题号,题型,考点类型,题干,")
    assert [it.to_dict() for it in from_csv(text)] == [it.to_dict() for it in items]
    raw = to_csv(items, "raw")
    assert raw.splitlines()[0].lstrip("\ufeff").startswith("id,kind,")
    assert [it.to_dict() for it in from_csv(raw)] == [it.to_dict() for it in items]
    assert [it.to_dict() for it in from_json(to_json(items))] == [it.to_dict() for it in items]


def test_markdown_paper_has_the_key_at_the_end(register) -> None:
    items = quiz.generate(register, n=12, seed=4)
    md = to_markdown(items)
    paper, _, key = md.partition("\n## 答案\n")
    assert key, "an 答案 section"
    assert "## 试题" in paper
    for i, it in enumerate(items, 1):
        assert re.search(rf"^{i}\. 【{KIND_LABELS[it.kind]}】", paper, re.M)
        assert re.search(rf"^{i}\. \*\*", key, re.M)
        assert "出处" in key and md_escape(it.citation.passage) in key
        if it.kind == "mcq":
            assert f"**{it.answer_letter}. {md_escape(it.answer)}**" in key
            for j, opt in enumerate(it.options):
                assert f"{LETTERS[j]}. {md_escape(opt)}" in paper
        else:
            assert f"**{md_escape(it.answer)}**" in key
    # the answers are not on the paper part: blanks are masked
    for it in items:
        if it.kind == "blank":
            assert md_escape(it.stem) in paper


# --- CLI -----------------------------------------------------------------------------------------------


def _args(**kw) -> Namespace:
    base = {"n": 10, "seed": 0, "kind": None, "doc": None, "domain": None, "format": "md"}
    base.update(kw)
    return Namespace(**base)


def test_cmd_quiz_builds_register_without_an_index(tmp_path, capsys) -> None:
    settings = Settings(data_dir=tmp_path, corpus_dir=REPO_ROOT / "corpus")
    assert cmd_quiz(_args(n=6, format="json", seed=3), settings) == 0
    out = capsys.readouterr()
    items = from_json(out.out)
    assert len(items) == 6
    assert "未找到已建立的索引" in out.err


def test_fallback_register_is_the_full_register(register, tmp_path) -> None:
    """Skipping the catalogue PDFs when no index exists loses no record."""
    settings = Settings(data_dir=tmp_path, corpus_dir=REPO_ROOT / "corpus")
    quick = build_register(duty_corpus(settings, []))
    assert [r.ob_id for r in quick.records] == [r.ob_id for r in register.records]
    assert len(quick.indicators) == len(register.indicators)


def test_cmd_quiz_uses_the_live_register(tmp_path, capsys) -> None:
    settings = Settings(data_dir=tmp_path, corpus_dir=REPO_ROOT / "corpus")
    gen = settings.index_dir / "g-test"
    gen.mkdir(parents=True)
    (settings.index_dir / "CURRENT").write_text("g-test", encoding="utf-8")
    rec = _record("建设单位应当在开工前完成环境影响评价文件的报批手续", party="建设单位")
    save_register(Register(records=[rec]), gen / "obligations.json")
    assert cmd_quiz(_args(n=3, kind=["blank"], format="csv"), settings) == 0
    out = capsys.readouterr()
    items = from_csv(out.out)
    assert [it.answer for it in items] == ["建设单位"]
    assert "只够生成 1 道题" in out.err


def test_cmd_quiz_formats_and_errors(tmp_path, capsys, monkeypatch, register) -> None:
    from kb.cli import main

    gen = tmp_path / "index" / "g-full"
    gen.mkdir(parents=True)
    (tmp_path / "index" / "CURRENT").write_text("g-full", encoding="utf-8")
    save_register(register, gen / "obligations.json")  # as `kb index` leaves it: no rebuild per call
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KB_CORPUS_DIR", str(REPO_ROOT / "corpus"))
    assert main(["quiz", "--n", "4", "--format", "aiken", "--seed", "1"]) == 0
    assert len(parse_aiken(capsys.readouterr().out)) == 4
    assert main(["quiz", "--n", "5", "--format", "gift", "--kind", "judge"]) == 0
    assert {q["type"] for q in parse_gift(capsys.readouterr().out)} == {"tf"}
    assert main(["quiz", "--n", "3"]) == 0
    assert "## 答案" in capsys.readouterr().out
    assert main(["quiz", "--format", "aiken", "--kind", "blank"]) == 2
    assert main(["quiz", "--doc", "no-such-doc"]) == 2
    assert main(["quiz", "--n", "0"]) == 2
    assert main(["quiz", "--domain", "不存在的领域"]) == 2
    err = capsys.readouterr().err
    assert "未知的领域：不存在的领域" in err and "大气" in err  # the message lists the valid domains


def test_cmd_quiz_avoid_makes_a_second_paper_apart(tmp_path, capsys, monkeypatch, register) -> None:
    """``kb quiz --avoid A.json`` makes a B paper that asks none of A's passages; a bad file is a clear error."""
    from kb.cli import main

    gen = tmp_path / "index" / "g-full"
    gen.mkdir(parents=True)
    (tmp_path / "index" / "CURRENT").write_text("g-full", encoding="utf-8")
    save_register(register, gen / "obligations.json")
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KB_CORPUS_DIR", str(REPO_ROOT / "corpus"))
    paper_a = tmp_path / "a.json"
    assert main(["quiz", "--n", "20", "--seed", "4", "--format", "json", "-o", str(paper_a)]) == 0
    assert main(["quiz", "--n", "20", "--seed", "4", "--format", "json", "--avoid", str(paper_a)]) == 0
    a, b = from_json(paper_a.read_text(encoding="utf-8")), from_json(capsys.readouterr().out)
    assert len(b) == 20
    spans = {(it.citation.doc_id, it.citation.start) for it in a}
    assert not any((it.citation.doc_id, it.citation.start) in spans for it in b)
    bad = tmp_path / "bad.json"
    bad.write_text("<不是试卷>", encoding="utf-8")
    assert main(["quiz", "--avoid", str(bad)]) == 2
    assert main(["quiz", "--avoid", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "bad.json 不是可读的 kb quiz JSON 试卷" in err and "missing.json" in err
