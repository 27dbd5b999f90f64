"""The composer's weights and thresholds (ComposerConfig) and the default configuration with the shipped model."""

from __future__ import annotations

from dataclasses import dataclass

from kb.ask.answerability import AnswerabilityModel, load_model


@dataclass(frozen=True)
class ComposerConfig:
    """Every weight and threshold of the composer, in one object that is passed in (eval passes its own)."""

    # The lexical threshold, used when no answerability model is loaded. Calibrated on eval/qa_dev.jsonl with the
    # production hybrid retriever: at 0.17 16/18 unanswerable questions are abstained on and 2/168 answerable ones
    # (1.2%) are. With the shipped model its threshold decides instead (see ``threshold``).
    abstain_threshold: float = 0.17
    anchor_miss_factor: float = 0.25  # confidence factor per question anchor (year, period, place, unit) missing
    route_bonus: float = 0.15  # the sentence carries the kind of fact the question asks for
    definition_bonus: float = 0.3  # the sentence defines a word of a definition question ("X，是指…")
    article_bonus: float = 0.5  # the passage is the law article the question names (第十条)
    # The sentence joins question words as the question does ("县城污水集中处理率", not "县城、城市污水处理率"):
    # this bonus times the share of adjacent question-word pairs found joined. Dev citations are equal from 0.1
    # to 0.2 and lose an answer at 0.25; 0.15 is the middle (eval/RESULTS.md).
    phrase_bonus: float = 0.15
    retrieval_weight: float = 0.15  # weight of the passage's normalised retrieval score
    # A question that names a document ("按环境影响评价法…") is answered from that document (dev set: q087, q116,
    # q128 were answered from another law quoting the same words).
    named_doc_bonus: float = 0.3
    # ... and an answer from another document lacks what it asks: the document counts as a missing anchor
    # ("噪声污染防治法第九十五条" is not answered by the 水污染防治法's article 95).
    named_doc_anchor: bool = True
    # A sentence of a repealed document (2022-06-05废止) gives way to the law in force that replaced it, unless the
    # question names the old document; the old law's sentence is still quoted when nothing else answers.
    repealed_penalty: float = 0.15
    # A sentence that neither names nor follows the place the question names answers for another place ("伊宁市"
    # asked, "全区…平均下降18.3%" found); one that names only years or plan periods other than the question's
    # answers for another time ("到2020年" asked, "“十二五”期间…提高到4.7%" found). The place penalty is 0.6, not
    # 0.3, since a follow-up carries the whole previous question: "那乌鲁木齐呢？" after a 北疆 question must quote
    # "乌鲁木齐市、昌吉市下降20%", not the 北疆 sentence that matches more of the other words.
    place_miss_penalty: float = 0.6
    time_conflict_penalty: float = 0.3
    # The sentence states the asked-for fact next to the word the question asks it of ("罚多少" -> "…的罚款").
    asked_bonus: float = 0.15
    context_credit: float = 0.5  # a word found earlier in the passage or in its title or section, not in the sentence
    extra_sentence_ratio: float = 0.85  # list/general answers add sentences scoring at least this share of the best
    # An abstention quotes the closest sentence as what the documents do say when at least this share of the
    # question's words is in it (a near miss); below it the question is out of scope and nothing is quoted. 0.3 -> 0.2:
    # near misses that show the neighbouring fact uv_train 0.208 -> 0.250, uv_dev 0.250 either way, no out-of-scope
    # question more quoting one.
    neighbour_min_support: float = 0.2
    violated_neighbour_factor: float = 0.5  # the share above, scaled, when the best sentence fails verification only
    # A follow-up read with the previous question ("河流断面水质优良比例…，湖库的呢？") is about its own words: they
    # weigh this many times more than the previous question's.
    focus_weight: float = 2.0
    # Typed slots (kb/ask/answer/slots.py): an answer must hold the kind of fact asked for, in the asked unit and of
    # the asked subject. A candidate that does, scoring within ``verify_margin`` of a best one that does not, is
    # quoted instead; a violation left counts as a missing anchor (``anchor_miss_factor``).
    verify_slots: bool = True
    verify_margin: float = 0.2
    # A calibrated model of "this answer is right" (kb/ask/answerability.json, fitted by eval/fit_answerability.py):
    # when set, its probability is the confidence and its threshold decides abstention.
    answerability: AnswerabilityModel | None = None

    @property
    def threshold(self) -> float:
        """The confidence below which the composer abstains: the model's threshold when there is a model."""
        return self.answerability.threshold if self.answerability else self.abstain_threshold


DEFAULT_CONFIG = ComposerConfig(answerability=load_model())
