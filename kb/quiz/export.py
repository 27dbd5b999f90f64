"""Quiz exports: JSON, CSV (round trip), a Markdown paper with the key at the end, Moodle GIFT and Aiken."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from kb.cli_io import bom_csv, read_bom_csv
from kb.quiz.model import KIND_LABELS, LETTERS, TRUE_TEXT, QuizCitation, QuizItem

CSV_COLUMNS = (
    "id", "kind", "fact_type", "stem", "option_a", "option_b", "option_c", "option_d", "answer", "answer_letter",
    "explanation", "doc_id", "title", "section", "article", "passage", "start", "end", "domain", "ob_id", "fact",
    "distractors", "difficulty",
)


def to_json(items: Iterable[QuizItem]) -> str:
    """A JSON array of the items (Chinese unescaped)."""
    return json.dumps([it.to_dict() for it in items], ensure_ascii=False, indent=2)


def from_json(text: str) -> list[QuizItem]:
    """Items read back from :func:`to_json` output."""
    return [QuizItem.from_dict(d) for d in json.loads(text)]


def to_csv(items: Iterable[QuizItem], headers: str = "zh") -> str:
    """CSV with a header row (Chinese column names, or the machine names with ``headers="raw"``) and a UTF-8 BOM
    (Excel shows the Chinese); options in columns A–D."""
    return bom_csv(CSV_COLUMNS, (_csv_row(it) for it in items), headers)


def _csv_row(it: QuizItem) -> dict:
    """One item as a CSV row."""
    opts = [*it.options, "", "", "", ""][:4]
    c = it.citation
    return {
        "id": it.id, "kind": it.kind, "fact_type": it.fact_type, "stem": it.stem,
        "option_a": opts[0], "option_b": opts[1], "option_c": opts[2], "option_d": opts[3],
        "answer": it.answer, "answer_letter": it.answer_letter, "explanation": it.explanation,
        "doc_id": c.doc_id, "title": c.title, "section": c.section, "article": c.article or "",
        "passage": c.passage, "start": c.start, "end": c.end, "domain": it.domain, "ob_id": it.ob_id,
        "fact": it.fact, "distractors": json.dumps(it.distractors, ensure_ascii=False),
        "difficulty": it.difficulty,
    }


def from_csv(text: str) -> list[QuizItem]:
    """Items read back from :func:`to_csv` output."""
    out = []
    for row in read_bom_csv(text):
        cit = QuizCitation(doc_id=row["doc_id"], title=row["title"], section=row["section"], passage=row["passage"],
                           start=int(row["start"]), end=int(row["end"]), article=row.get("article") or None)
        options = [row[f"option_{x}"] for x in "abcd" if row.get(f"option_{x}")]
        out.append(QuizItem(
            id=row["id"], kind=row["kind"], stem=row["stem"], options=options, answer=row["answer"],
            answer_letter=row["answer_letter"], explanation=row["explanation"], citation=cit, domain=row["domain"],
            ob_id=row["ob_id"], fact_type=row["fact_type"], fact=row["fact"],
            distractors=json.loads(row.get("distractors") or "[]"), difficulty=row.get("difficulty") or "",
        ))
    return out


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md_escape(text: str) -> str:
    """Escape Markdown syntax so that document text prints as written."""
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text).strip())


def to_markdown(items: Sequence[QuizItem], title: str = "环境保护法规知识测验") -> str:
    """A printable paper: numbered questions, then the 答案 key with explanations and sources at the end."""
    intro = f"共 {len(items)} 题。单选题选出唯一正确的选项；填空题填写横线处内容；判断题判断正误。"
    lines = [f"# {md_escape(title)}", "", intro, "", "## 试题", ""]
    for i, it in enumerate(items, 1):
        lines.append(f"{i}. 【{KIND_LABELS[it.kind]}】{md_escape(it.stem)}"
                     + ("（　　）" if it.kind == "judge" else ""))
        if it.kind == "mcq":
            lines.append("")
            lines.extend(f"    {LETTERS[j]}. {md_escape(opt)}  " for j, opt in enumerate(it.options))
        lines.append("")
    lines += ["## 答案", ""]
    for i, it in enumerate(items, 1):
        ans = f"{it.answer_letter}. {it.answer}" if it.kind == "mcq" else it.answer
        c = it.citation
        loc = c.section if not c.article or c.article in c.section else f"{c.section} > {c.article}"
        lines.append(f"{i}. **{md_escape(ans)}**  ")
        if it.kind == "judge" and it.distractors:
            lines.append(f"    原文为“{md_escape(it.fact)}”，题干误作“{md_escape(it.distractors[0])}”。  ")
        lines.append(f"    出处：《{md_escape(c.title)}》{('（' + md_escape(loc) + '）') if loc else ''}  ")
        lines.append(f"    原文：“{md_escape(c.passage)}”")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters (~ = # { } : and the backslash) and fold line breaks."""
    return _GIFT_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text).strip())


def to_gift(items: Sequence[QuizItem], category: str = "环境保护法规知识测验") -> str:
    """Moodle GIFT: ``{=right ~wrong …}`` for mcq, ``{=answer}`` for blanks, ``{TRUE}``/``{FALSE}`` for judge.

    Every question has a title (``::Q1 …::``) and the explanation with its source as general feedback
    (``####…``).
    """
    out = [f"$CATEGORY: {gift_escape(category)}", ""]
    for i, it in enumerate(items, 1):
        title = gift_escape(f"Q{i} {KIND_LABELS[it.kind]} {it.id}")
        feedback = f"####{gift_escape(it.explanation)}"
        if it.kind == "mcq":
            answers = " ".join(("=" if o == it.answer else "~") + gift_escape(o) for o in it.options)
        elif it.kind == "blank":
            answers = "=" + gift_escape(it.answer)
        else:
            answers = "TRUE" if it.answer == TRUE_TEXT else "FALSE"
        out.append(f"// {i}. {KIND_LABELS[it.kind]} · {it.fact_type} · {it.id}")
        out.append(f"::{title}::{gift_escape(it.stem)} {{{answers} {feedback}}}")
        out.append("")
    return "\n".join(out)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def to_aiken(items: Iterable[QuizItem]) -> str:
    """Aiken (multiple choice only; other kinds are left out): question line, "A. …" options, "ANSWER: B"."""
    blocks = []
    for it in items:
        if it.kind != "mcq":
            continue
        lines = [_one_line(it.stem)]
        lines += [f"{LETTERS[j]}. {_one_line(o)}" for j, o in enumerate(it.options)]
        lines.append(f"ANSWER: {it.answer_letter}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


FORMATTERS = {"json": to_json, "csv": to_csv, "gift": to_gift, "aiken": to_aiken, "md": to_markdown}
EXTENSIONS = {"json": "json", "csv": "csv", "gift": "gift.txt", "aiken": "aiken.txt", "md": "md"}
