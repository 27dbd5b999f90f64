"""The public Python API (`from kb import KnowledgeBase`) on the session's full index, and its retriever in LCEL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb import UnknownFilterError

ROOT = Path(__file__).resolve().parent.parent
PERMIT = "pollutant-discharge-permit-regs-2021"
STRAW = "秸秆收集利用率要在哪年达到多少？"


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(settings.data_dir), KB_CORPUS_DIR=str(settings.corpus_dir), PYTHONPATH=str(ROOT))
    return env


def _without_timings(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "timings_ms"}


def test_import_kb_is_light() -> None:
    """`import kb` loads none of the heavy libraries; the names come on first use."""
    code = ("import sys, kb; heavy = [m for m in ('gradio', 'torch', 'chromadb', 'langchain_core', 'kb.service')"
            " if m in sys.modules]; print(heavy, kb.__version__, 'KnowledgeBase' in dir(kb))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    heavy, version, listed = out.stdout.split()[0], out.stdout.split()[1], out.stdout.split()[2]
    assert heavy == "[]" and version.count(".") == 2 and listed == "True"
    with pytest.raises(AttributeError):
        import kb

        _ = kb.NoSuchThing


def test_three_lines_of_python_give_the_cli_json(built_settings) -> None:
    """README's three lines, with defaults from the environment, print the object `kb ask --json` prints."""
    script = ("from kb import KnowledgeBase\n"
              "kb = KnowledgeBase.open()\n"
              f"import json; print(json.dumps(kb.ask({STRAW!r}).to_dict(), ensure_ascii=False))\n")
    env = _env(built_settings)
    py = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    cli = subprocess.run([sys.executable, "-m", "kb.cli", "ask", STRAW, "--json"], cwd=ROOT, env=env,
                         capture_output=True, timeout=600)
    out, err = py.communicate(timeout=600)
    assert py.returncode == 0, err.decode("utf-8", "replace")[-3000:]
    assert cli.returncode == 0, cli.stderr.decode("utf-8", "replace")[-3000:]
    ours, theirs = json.loads(out.decode("utf-8")), json.loads(cli.stdout.decode("utf-8"))
    assert _without_timings(ours) == _without_timings(theirs)
    assert "90%" in ours["answer"] and ours["citations"][0]["doc_id"] == "xj-env-13fyp-2017"


def test_ask_filters_by_document_and_kind(api_kb, corpus_docs) -> None:
    ans = api_kb.ask("排污单位应当如何申请排污许可证？", doc_ids=[PERMIT]).to_dict()
    assert ans["citations"] and {c["doc_id"] for c in ans["citations"]} == {PERMIT}
    kinds = {d["doc_id"]: d["kind"] for d in api_kb.documents()}
    laws = api_kb.ask("排污许可证有效期多长？", kinds="law").to_dict()
    assert laws["citations"] and {kinds[c["doc_id"]] for c in laws["citations"]} == {"law"}
    assert set(kinds) == set(corpus_docs) and set(kinds.values()) == {"plan", "law", "regulation", "list"}
    with pytest.raises(UnknownFilterError) as e:
        api_kb.ask("排污许可证有效期多长？", doc_ids=["no-such-doc", PERMIT])
    assert e.value.unknown == ["no-such-doc"] and PERMIT in e.value.valid and PERMIT in str(e.value)
    with pytest.raises(UnknownFilterError, match=r"可选值：.*law"):
        api_kb.ask("排污许可证有效期多长？", kinds=["laws"])


def test_retriever_documents_carry_id_source_and_location(api_kb, corpus_docs) -> None:
    from langchain_core.retrievers import BaseRetriever

    retriever = api_kb.as_retriever(k=4, filters={"doc_ids": [PERMIT]})
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("排污许可证有效期多长？")
    assert len(docs) == 4 and len({d.id for d in docs}) == 4
    for d in docs:
        m = d.metadata
        assert m["source"] == PERMIT and d.id == m["chunk_id"] and m["title"] and m["section"]
        assert corpus_docs[m["source"]].text[m["start"] : m["end"]] == d.page_content
        assert "page" in m
    assert any("有效期为5年" in d.page_content for d in docs)
    with pytest.raises(ValueError, match="doc_ids、kinds"):
        api_kb.as_retriever(filters={"doc": PERMIT})
    with pytest.raises(UnknownFilterError):
        api_kb.as_retriever(filters={"kinds": ["nope"]})


def test_retriever_in_an_lcel_chain(api_kb) -> None:
    """Retriever | prompt built from the passages, with the question passed through (no LLM)."""
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

    def format_docs(docs) -> str:
        return "\n".join(f"[{i}] ({d.metadata['source']} {d.metadata['start']}-{d.metadata['end']}) "
                         f"{d.page_content}" for i, d in enumerate(docs, 1))

    chain = (
        RunnableParallel(context=api_kb.as_retriever(k=3) | RunnableLambda(format_docs),
                         question=RunnablePassthrough())
        | RunnableLambda(lambda x: f"依据以下段落回答并引用编号：\n{x['context']}\n问题：{x['question']}")
    )
    prompt = chain.invoke(STRAW)
    assert prompt.startswith("依据以下段落") and prompt.endswith(f"问题：{STRAW}")
    assert "[1] (xj-env-13fyp-2017 " in prompt and "秸秆收集利用率达到90%" in prompt
    batch = chain.batch([STRAW, "环境保护税的纳税人是谁？"])
    assert len(batch) == 2 and "环境保护税" in batch[1]


def test_obligations_and_quiz(api_kb) -> None:
    from kb.quiz import build as quiz
    from kb.register.query import query

    due = api_kb.obligations(year=2017)
    assert due and all(r.year == 2017 for r in due)
    assert [r.ob_id for r in due] == [r.ob_id for r in query(api_kb.register, year=2017)]
    assert [r.ob_id for r in api_kb.obligations(due_before="2017")] == \
        [r.ob_id for r in query(api_kb.register, due_before="2017-12-31")]
    binding = api_kb.obligations(domain="目标", binding="约束性")
    assert binding and all(r.domain == "目标" and r.binding == "约束性" for r in binding)
    water = api_kb.obligations(domain="水", party="人民政府")
    assert water and all(r.domain == "水" and "人民政府" in r.party for r in water)
    for bad in ({"domain": "不存在的领域"}, {"doc": "no-such-doc"}, {"binding": "强制"}):
        with pytest.raises(UnknownFilterError, match="可选值"):
            api_kb.obligations(**bad)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        api_kb.obligations(due_before="2017/12/31")

    items = api_kb.quiz(n=6, seed=3, kinds=["mcq", "judge"])
    assert [it.to_dict() for it in items] == [
        it.to_dict() for it in quiz.generate(api_kb.register, n=6, seed=3, kinds=["mcq", "judge"])]
    assert {it.kind for it in items} == {"mcq", "judge"}
    with pytest.raises(UnknownFilterError, match="mcq"):
        api_kb.quiz(kinds=["essay"])
    with pytest.raises(ValueError, match="题数"):
        api_kb.quiz(n=0)


NOISY = {
    "<script>alert(1)</script>排污许可证有效期多长？": "排污许可证有效期多长？",
    "<b>排污许可证</b>有效期多长？": "排污许可证有效期多长？",
    "排污许可证有效期多长？' OR 1=1 --": "排污许可证有效期多长？",
    "'; DROP TABLE docs; -- 排污许可证有效期多长？": "排污许可证有效期多长？",
}


def test_strip_noise_keeps_the_chinese_question() -> None:
    from kb.inputs import strip_noise

    for noisy, clean in NOISY.items():
        assert strip_noise(noisy) == clean
    # ASCII words that are not SQL stay (PM2.5, "and" without SQL punctuation)
    assert strip_noise("<img src=x onerror=alert(1)>PM2.5 浓度 and 排放") == "PM2.5 浓度 and 排放"
    for kept in ("PM2.5 浓度 target 是多少", "GB 3095-2012 规定的浓度限值"):
        assert strip_noise(kept) == kept
    assert strip_noise("GB 3095-2012 规定的浓度限值=?") == "GB 3095-2012 规定的浓度限值"  # stray symbols go
    for kept in ("<script>alert(1)</script>", "'; DROP TABLE chunks; -- OR 1=1"):  # no Chinese question inside
        assert strip_noise(kept) == kept


def test_markup_and_sql_noise_do_not_change_the_answer(api_kb) -> None:
    """Noise around a real question (issue 20): the same answer and citations as the plain question."""
    plain = _without_timings(api_kb.ask("排污许可证有效期多长？").to_dict())
    assert "有效期为5年" in plain["answer"]
    for noisy in NOISY:
        got = _without_timings(api_kb.ask(noisy).to_dict())
        assert (got["answer"], got["citations"]) == (plain["answer"], plain["citations"]), noisy
