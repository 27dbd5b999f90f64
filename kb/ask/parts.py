"""One answer from the answers to the parts of a question that asks several things.

Each part is answered on its own (its own retrieval and composition); the combined answer lists them in the
question's order, renumbers their citations into one list (a passage cited by two parts gets one number), and
says which part the documents do not answer.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from indexing.types import Citation
from kb.ask.answer import Answer

_MARKER = re.compile(r"\[(\d+)\]")
_SEARCHED = re.compile(r"已检索：.*$", re.S)  # an abstaining part's list of searched documents, said once at the end
PART_LABELS = "①②③④⑤⑥⑦⑧⑨"


def _renumber(text: str, mapping: dict[int, int]) -> str:
    """Citation markers of one part's text, in the combined numbering (markers without a source dropped)."""
    return _MARKER.sub(lambda m: f"[{mapping[int(m.group(1))]}]" if int(m.group(1)) in mapping else "", text)


def combine(question: str, answers: Sequence[Answer], k: int = 5) -> Answer:
    """The answers to a question's parts as one answer; abstained only when every part is."""
    keys: dict[tuple[str, int, int], int] = {}
    cites: list[Citation] = []

    def number(c: Citation) -> int:
        key = (c.doc_id, c.start, c.end)
        if key not in keys:
            keys[key] = len(cites) + 1
            cites.append(dataclasses.replace(c, n=keys[key]))
        return keys[key]

    maps: list[dict[int, int]] = [{} for _ in answers]
    for i, a in enumerate(answers):  # quoted passages first, so that the first n_quoted citations are support
        if not a.abstained:
            for c in a.citations[: a.n_quoted]:
                maps[i][c.n] = number(c)
    n_quoted = len(cites)
    for i, a in enumerate(answers):
        for c in a.citations:
            if c.n not in maps[i] and (len(cites) < max(k, n_quoted) or (c.doc_id, c.start, c.end) in keys):
                maps[i][c.n] = number(c)
    lines = [f"{PART_LABELS[i] if i < len(PART_LABELS) else i + 1} {_renumber(_SEARCHED.sub('', a.answer), maps[i])}"
             for i, a in enumerate(answers)]
    searched = next((m.group(0) for a in answers if a.abstained and (m := _SEARCHED.search(a.answer))), "")
    if searched:
        lines.append(searched)
    abstained = all(a.abstained for a in answers)
    timings: dict[str, float] = {}
    for a in answers:
        for key, v in a.timings_ms.items():
            timings[key] = timings.get(key, 0.0) + v
    weakest = min(answers, key=lambda a: a.confidence)
    return Answer(
        question=question, answer="\n".join(lines), abstained=abstained, route="multipart",
        features=dict(weakest.features),
        citations=cites if not abstained else cites[:k], searched_docs=answers[0].searched_docs,
        timings_ms=timings, confidence=min(a.confidence for a in answers), n_quoted=0 if abstained else n_quoted,
    )
