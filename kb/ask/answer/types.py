"""The composer's records: the composed Answer, a question term, and a candidate sentence."""

from __future__ import annotations

from dataclasses import dataclass, field

from indexing.types import Citation


@dataclass
class Answer:
    """A composed answer; the first ``n_quoted`` citations are the passages the answer quotes.

    When ``abstained`` is true the citations are the nearest passages found, not support.
    ``confidence`` (0..1) is the score compared with ``ComposerConfig.threshold``.
    """

    question: str
    answer: str
    abstained: bool
    route: str
    citations: list[Citation] = field(default_factory=list)
    searched_docs: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.0
    n_quoted: int = 0
    resolved_question: str | None = None  # the question as answered, when a follow-up was expanded
    llm: dict | None = None  # kb.ask.llm.LLMResult.to_dict() when an LLM rewrote the answer
    features: dict[str, float] = field(default_factory=dict)  # what the answerability model read (not in the JSON)

    def to_dict(self, id: object = None) -> dict:
        """JSON shape of `kb ask --json` (design.md); each citation also says its role."""
        citations = []
        for i, c in enumerate(self.citations):
            d = c.to_dict()
            d["role"] = "nearest" if self.abstained else ("answer" if i < self.n_quoted else "support")
            citations.append(d)
        out = {
            "id": id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "route": self.route,
            "confidence": round(self.confidence, 4),
            "citations": citations,
            "searched_docs": self.searched_docs,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.resolved_question:
            out["resolved_question"] = self.resolved_question
        if self.llm is not None:
            out["llm"] = self.llm
        return out


@dataclass
class Term:
    """A content word of the question, with the forms and sub-words that count as finding it."""

    forms: tuple[str, ...]  # the word and its alternates, folded
    pieces: tuple[str, ...]  # jieba sub-words of a long word, for partial credit
    anchor: bool  # a year, plan period or place name: a question about another one is another question


@dataclass
class Sentence:
    """A candidate sentence of a hit, and how well it answers the question."""

    hit: int  # index into hits
    start: int
    end: int
    folded: str
    context: str  # folded title, section path and the passage's text before the sentence
    lex: float = 0.0
    score: float = 0.0
    lead: tuple[int, int] | None = None  # an item's list lead-in sentence, quoted before it
    follow: tuple[int, int] | None = None  # the next sentence of its paragraph, when it holds the asked-for fact

    def quoted_spans(self) -> list[tuple[int, int]]:
        """The sentence's span and the spans quoted with it (its list's lead-in, or the next sentence)."""
        return [(self.start, self.end), *(span for span in (self.lead, self.follow) if span)]
