"""Extractive answer composer: route the question, pick the answering sentence, quote it with citations.

No LLM. The answer text is made only of verbatim pieces of cited passages (a whole sentence, or a
run of its clauses, optionally preceded by the sentence's own leading time clause), so every
number, date and party it states can be found in a citation. The key-fact lead (期限/数值/责任主体/条文)
is itself a substring of the quoted text or the cited passage.

Scoring of a candidate sentence = lexical support + route bonus + retrieval bonus ± anchors:
  * lexical support: IDF-weighted share of the question's content words present in the sentence
    (full credit), present only before it in the same passage or in the passage's title or section
    path (half credit: a sentence inherits the topic set by what precedes it, not by what follows),
    or partly present through jieba's sub-words of a long word (half credit × share of sub-words).
    Words are matched as substrings of the folded sentence, which is robust to jieba segmenting the
    same characters differently in a question and in a passage, and avoids tokenising passages.
  * route bonus: the sentence has what the question asks for (a date for deadline questions, a
    number with a unit for target questions, a party for party questions, a duty verb for law ones).
  * retrieval bonus: the passage's retrieval score, min-max normalised over the hits;
  * penalties for a sentence that misses the question's place (in it or before it) or names only other years (a plan
    question naming no time means the plan's own period), and a bonus when it, or the lead-in or next sentence
    quoted with it, states the fact next to the word the question asks it of ("罚多少" -> "…的罚款");
  * a phrase bonus for question words joined in the sentence as in the question ("县城污水集中处理率").
A question asking whether something is allowed ("能不能…") counts a sentence that permits or forbids as its route.
A colloquial phrase of the lexicon (kb/vocab/lexicon.tsv) counts as present when any of its official wordings is.
The answer's ``confidence`` is the lexical support of the chosen sentence (not counting question words no passage has
that only say how the question is put: "能管", "天上", "一年"), scaled down for each
anchor of the question the answer lacks (a year or plan period no passage mentions, a place, pollutant or
"…率" indicator the answering sentence and its context do not name, a foreign name no passage has, an asked-for
unit the sentence does not use, a change asked for that the sentence does not state; see ``missing_anchors``);
below ``ComposerConfig.threshold`` (the answerability model's, else the lexical one) the composer abstains and
returns the nearest passages instead.
"""

from indexing.tokenize import split_sentences
from kb.ask.answer.compose import ABSTAIN_MESSAGE, compose, compose_from_obligations
from kb.ask.answer.config import DEFAULT_CONFIG, ComposerConfig
from kb.ask.answer.routes import ROUTES, route
from kb.ask.answer.types import Answer

__all__ = [
    "ABSTAIN_MESSAGE",
    "DEFAULT_CONFIG",
    "ROUTES",
    "Answer",
    "ComposerConfig",
    "compose",
    "compose_from_obligations",
    "route",
    "split_sentences",
]
