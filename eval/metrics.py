"""Metrics of the QA dev set: evidence recall, MRR, answer, citation and abstention accuracy, latency.

Pure functions over plain data, no index or model needed. Matching rules (eval/README_qa.md):

* evidence: a passage "contains" the evidence when it does after deleting all whitespace on both sides (and
  the ``_{…}`` subscript markup of the plan's PM_{2.5}, which the loader deletes from the indexed text);
* answers: an answer is correct when it is not an abstention and holds *every* gold string, both sides
  whitespace-free and full-width forms folded to half-width (NFKC), so "90％" matches "90%";
* citations: an answer's citation is correct when one of the passages its text quotes (the ``[n]`` it
  marks) contains the evidence; ``citation_any`` is the looser "any listed source contains it".
"""

from __future__ import annotations

import json
import math
import re
import resource
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

QA_PATH = Path(__file__).resolve().parent / "qa_dev.jsonl"
# Written from the corpus by someone who had not seen the system's answers, and never used to tune it: the check
# that what was tuned on the dev set carries over.
TEST_PATH = Path(__file__).resolve().parent / "qa_test.jsonl"
CATEGORIES = ("deadline", "target", "party", "list", "law", "definition", "paraphrase", "unanswerable")
MRR_DEPTH = 10  # ranks beyond this count as not found for MRR
_WS = re.compile(r"\s+")
_SUBSCRIPT = re.compile(r"_\{([^{}]*)\}")


def squash(text: str | None) -> str:
    """Delete all whitespace (line breaks, spaces, tabs, ideographic spaces)."""
    return _WS.sub("", text or "")


def squash_evidence(text: str | None) -> str:
    """Whitespace deleted and ``_{2.5}`` subscript markup unwrapped: the form evidence is compared in."""
    return _SUBSCRIPT.sub(r"\1", squash(text))


def fold(text: str | None) -> str:
    """Whitespace deleted and full-width forms folded (NFKC): the form answers are compared in."""
    return squash(unicodedata.normalize("NFKC", text or ""))


def load_questions(path: str | Path = QA_PATH) -> list[dict]:
    """The gold questions of a JSONL file (eval/README_qa.md)."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evidence_rank(passages: Sequence[str], evidence: str | None) -> int | None:
    """1-based rank of the first passage containing the evidence (whitespace deleted), None if none does."""
    if not evidence:
        return None
    needle = squash_evidence(evidence)
    for i, text in enumerate(passages, 1):
        if needle in squash_evidence(text):
            return i
    return None


def answer_correct(answer_text: str, answers: Sequence[str], abstained: bool) -> bool:
    """Whether a non-abstained answer holds every gold string (whitespace and width folded)."""
    if abstained or not answers:
        return False
    folded = fold(answer_text)
    return all(fold(a) in folded for a in answers)


@dataclass
class QuestionResult:
    """How one system did on one question."""

    id: str
    category: str
    answerable: bool
    rank: int | None = None  # evidence rank in the retrieval ranking (None: not in the ranking)
    abstained: bool = False
    answer_ok: bool = False
    citation_ok: bool = False  # a quoted passage contains the evidence
    citation_any: bool = False  # any listed source contains the evidence
    latency_ms: float = 0.0
    confidence: float = 0.0
    route: str = ""
    answer: str = ""
    stages_ms: dict[str, float] = field(default_factory=dict)  # e.g. retrieve / compose, when the system reports


def score_question(
    gold: dict,
    ranking: Sequence[str],
    answer_text: str,
    abstained: bool,
    quoted: Sequence[str],
    cited: Sequence[str],
    *,
    latency_ms: float = 0.0,
    confidence: float = 0.0,
    route: str = "",
) -> QuestionResult:
    """Score one answer: ``ranking`` are the retrieved passages best first, ``quoted`` the passages the
    answer text quotes and ``cited`` every source it lists."""
    answerable = gold["category"] != "unanswerable"
    ev = gold.get("evidence")
    return QuestionResult(
        id=gold["id"],
        category=gold["category"],
        answerable=answerable,
        rank=evidence_rank(ranking, ev) if answerable else None,
        abstained=abstained,
        answer_ok=answerable and answer_correct(answer_text, gold.get("answers") or [], abstained),
        citation_ok=answerable and not abstained and evidence_rank(quoted, ev) is not None,
        citation_any=answerable and not abstained and evidence_rank(cited, ev) is not None,
        latency_ms=latency_ms,
        confidence=confidence,
        route=route,
        answer=answer_text,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _share(flags: Iterable[bool]) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else math.nan


@dataclass
class Summary:
    """Aggregate metrics of a set of question results.

    Retrieval, answer and citation figures are over answerable questions; ``abstain_unanswerable`` is the
    share of unanswerable ones abstained on and ``abstain_wrong`` the share of answerable ones abstained on.
    """

    n: int
    n_answerable: int
    recall_at_1: float
    recall_at_5: float
    mrr: float
    answer_accuracy: float
    citation_accuracy: float
    citation_any: float
    abstain_unanswerable: float
    abstain_wrong: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def summarize(results: Sequence[QuestionResult]) -> Summary:
    """Aggregate per-question results into a Summary."""
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    lat = [r.latency_ms for r in results if r.latency_ms > 0]
    return Summary(
        n=len(results),
        n_answerable=len(ans),
        recall_at_1=_share(r.rank == 1 for r in ans),
        recall_at_5=_share(r.rank is not None and r.rank <= 5 for r in ans),
        mrr=(sum(1.0 / r.rank for r in ans if r.rank is not None and r.rank <= MRR_DEPTH) / len(ans))
        if ans else math.nan,
        answer_accuracy=_share(r.answer_ok for r in ans),
        citation_accuracy=_share(r.citation_ok for r in ans),
        citation_any=_share(r.citation_any for r in ans),
        abstain_unanswerable=_share(r.abstained for r in una),
        abstain_wrong=_share(r.abstained for r in ans),
        p50_ms=percentile(lat, 50),
        p95_ms=percentile(lat, 95),
        p99_ms=percentile(lat, 99),
    )


def by_category(results: Sequence[QuestionResult]) -> dict[str, Summary]:
    """A Summary per category, in the order of CATEGORIES, plus "all"."""
    out = {c: summarize([r for r in results if r.category == c]) for c in CATEGORIES
           if any(r.category == c for r in results)}
    out["all"] = summarize(results)
    return out


def abstention_sweep(results: Sequence[QuestionResult], thresholds: Sequence[float]) -> list[dict]:
    """For each threshold: what abstaining below it (on ``confidence``) would give.

    Only questions the system answered by quoting (not via another path) are affected; already-abstained
    answers stay abstained when their confidence is under the threshold. Answer accuracy counts a question
    as correct only if it is not abstained at that threshold and its answer held every gold string.
    """
    rows = []
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    for t in thresholds:
        def abst(r: QuestionResult, t: float = t) -> bool:
            return r.confidence < t
        rows.append({
            "threshold": t,
            "abstain_unanswerable": _share(abst(r) for r in una),
            "abstain_wrong": _share(abst(r) for r in ans),
            "answer_accuracy": _share(r.answer_ok and not abst(r) for r in ans),
        })
    return rows


def fmt(x: float, digits: int = 3) -> str:
    """A metric for a table cell: fixed digits, "–" for NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}"


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB: VmHWM of /proc/self/status on Linux.

    Not ru_maxrss: Linux carries a process's pre-exec high-water mark into it, so a worker started from a big
    parent would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
