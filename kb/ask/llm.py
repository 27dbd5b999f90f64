"""Optional LLM synthesis over the retrieved passages, with every generated sentence checked.

The extractive answer stays the source of truth. When an OpenAI-compatible endpoint is configured
(KB_LLM_BASE_URL and KB_LLM_MODEL), the model gets the numbered passages and must put [n] after each
sentence. Every sentence is then verified against the passages it cites: the numbers, dates and
parties (responsible bodies) it states must appear there. Unsupported sentences are dropped; if too
little survives, or the call times out or fails, the extractive answer is returned with a notice.

Nothing here imports langchain until a model is actually used, so `kb --help` stays fast.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from indexing.config import Settings
from indexing.types import Citation

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

LLMPath = Literal["llm", "fallback-timeout", "fallback-error", "fallback-unsupported", "skipped"]

# Fall back when fewer than this share of the generated sentences is supported by its citations.
MIN_KEPT_RATIO = 0.4

NOTICES: dict[str, str] = {
    "fallback-timeout": "（大模型响应超时，以下为检索原文摘录）",
    "fallback-error": "（大模型调用失败，以下为检索原文摘录）",
    "fallback-unsupported": "（大模型未能给出可核验的回答，以下为检索原文摘录）",
}

NOT_FOUND = "未在文件中找到"

SYSTEM_PROMPT = "\n".join(
    [
        "你是新疆生态环境保护规划与法规文件的问答助手。",
        "只能依据用户给出的编号文件段落回答，不得使用段落以外的知识，不得推测或补充。",
        "要求：",
        "1. 用简体中文回答，简洁准确，一般不超过五句话。",
        "2. 每句话末尾用方括号标注该句依据的段落编号，例如“……达到90%以上[2]。”；依据多个段落时写成[1][3]。",
        "3. 数字、百分比、年份、期限和责任主体（政府、部门、单位、企业等）必须与段落原文完全一致，"
        "不得换算、四舍五入或改写。",
        f"4. 如果这些段落不能回答问题，只回答“{NOT_FOUND}”。",
    ]
)


@dataclass
class LLMResult:
    """Outcome of one synthesis: the text to show and how it was obtained."""

    text: str  # verified LLM text with [n] markers, or the notice followed by the extractive answer
    path: LLMPath
    notice: str = ""  # Chinese notice shown on a fallback ("" on the llm and skipped paths)
    dropped: list[str] = field(default_factory=list)  # generated sentences removed as unsupported
    raw: str = ""  # the model's full output before verification ("" when the call failed)
    error: str = ""  # "ExceptionType: message" on fallback-timeout and fallback-error
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict:
        """JSON-friendly summary for `kb ask --json` and the UI (the answer text itself goes elsewhere)."""
        return {
            "path": self.path,
            "notice": self.notice,
            "dropped": list(self.dropped),
            "error": self.error,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


def llm_enabled(settings: Settings) -> bool:
    """True when an OpenAI-compatible endpoint is configured (base URL and model both set)."""
    return bool(settings.llm_base_url and settings.llm_model)


def make_chat_model(settings: Settings, streaming: bool = False) -> BaseChatModel:
    """A deterministic langchain chat model for the configured endpoint; fails fast, never retries."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key or "none",
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=0,
        streaming=streaming,
        # OpenAI-compatible servers (vLLM, llama.cpp, Ollama ...) serve chat completions, not Responses.
        use_responses_api=False,
    )


def format_passages(citations: Iterable[Citation]) -> str:
    """The numbered passages as the model sees them: "[n] 《title》 section" then the verbatim text."""
    blocks = []
    for c in citations:
        head = f"[{c.n}] 《{c.title}》"
        if c.section:
            head += f" {c.section}"
        blocks.append(f"{head}\n{c.text.strip()}")
    return "\n\n".join(blocks)


def build_messages(question: str, citations: list[Citation]) -> list[BaseMessage]:
    """System prompt with the citing rules, then the numbered passages and the question."""
    from langchain_core.messages import HumanMessage, SystemMessage

    user = f"文件段落：\n\n{format_passages(citations)}\n\n问题：{question.strip()}"
    return [SystemMessage(content=SYSTEM_PROMPT), HumanMessage(content=user)]


# --- verification -------------------------------------------------------------------------------

# [1], [1][2], [1,2], [1、2], 【1】; Python's \d also accepts full-width digits.
_MARKER = re.compile(r"[\[【［]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】］]")
_LEADING_MARKERS = re.compile(rf"\s*(?:{_MARKER.pattern}\s*)+")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
# A list enumerator at the start of a line ("1.", "2、", "（3）", "-") is layout, not a fact.
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.、)）](?!\d)|[（(]\d{1,2}[)）]|[-*•·])\s*")

# Not kb/vocab/units.tsv on purpose: a generated number is compared by value, so what follows it here is a scale
# (万/亿, folded into the value) or a percentage, not a unit of measure; "50吨" and "50" state the same figure.
_NUM = r"(\d+(?:\.\d+)?)(%|‰|万亿|万|亿)?"
# A number with its unit, or a range such as 10-20% whose first end takes the unit of the second.
_NUMBER = re.compile(rf"(?<![\d.]){_NUM}(?:[-~—–至到]{_NUM})?")
_SCALE = {"万亿": Decimal(10**12), "亿": Decimal(10**8), "万": Decimal(10**4)}
_DATE = re.compile(
    r"(?<!\d)\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?|底|末|初|中|上半年|下半年)?"
    r"|(?<!\d)\d{1,2}月(?:\d{1,2}日|底|末|初|中)?"
)
# Nouns naming a responsible party; the lookarounds skip 布局/格局/大厅 and 单位GDP-style indicators. Not
# kb/vocab/party_words.tsv on purpose: a generated sentence may name a party by a bare 局 or 厅, or by an institution
# (国务院, 生态环境部, 兵团) the documents write in full, and every such mention has to be found to be checked.
_PARTY_SUFFIX = re.compile(
    r"人民政府|党委|国务院|生态环境部|环境保护部|委员会|办公厅|办公室|政府|部门|机关|机构|兵团|企业"
    r"|单位(?![A-Za-z国地工产面能])|(?<![布格全大结开终时政])局|(?<![大餐客展])厅"
)
_PARTY_MAX_PREFIX = 12
# Suffixes that name a kind of body, so the words before them (环境保护厅, 改革委员会) matter.
_DOMAIN_SUFFIXES = ("厅", "局", "部门", "委员会", "办公室", "办公厅", "机关", "机构")
# The end of a place name (乌鲁木齐市, 伊犁哈萨克自治州, 自治区), but not 区域.
_PLACE_END = re.compile(r"[市州县省旗盟]|区(?!域)")
# Where the name of a party starts: after the last function word, quantifier or governing verb.
_PARTY_CUT = re.compile(
    "|".join(
        sorted(
            [
                *"向由对与同在把将被给经为从以及或和跟让使令是的了并且等各其该",
                *"有关 相关 其他 所有 全部 各级 督促 指导 要求 组织 会同 支持 鼓励 引导 推动 负责 配合 "
                "协调 监督 责成 授权 委托 联合 明确 落实 依法 应当 必须 可以 规定 牵头 实施 开展 加强 "
                "推进 全区 全疆 新疆维吾尔 新疆生产建设 新疆".split(),
            ],
            key=len,
            reverse=True,
        )
    )
)


def _norm(text: str) -> str:
    """Full-width to half-width (NFKC) and no whitespace, so "２０２０ 年" compares equal to "2020年"."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _numbers(text: str) -> set[tuple[str, Decimal]]:
    """(kind, value) of every number in normalised text; kind is "%", "‰" or "" (万/亿 scaled in)."""
    found: set[tuple[str, Decimal]] = set()
    for m in _NUMBER.finditer(text):
        first, unit1, second, unit2 = m.groups()
        ends = [(first, unit1 or unit2 or "")]
        if second:
            ends.append((second, unit2 or ""))
        for digits, unit in ends:
            value = Decimal(digits) * _SCALE.get(unit, Decimal(1))
            found.add((unit if unit in ("%", "‰") else "", value.normalize()))
    return found


def _parties(text: str) -> list[str]:
    """The part of each party mention in normalised text that a supporting passage must contain.

    The name is cut after the last function word or verb before the suffix ("督促企业" -> "企业").
    A place in it must appear with the suffix ("乌鲁木齐市人民政府" is not "自治区人民政府"); a kind of
    body needs its last words ("环境保护厅" is not "水利厅"); else the suffix alone must appear.
    """
    mentions = []
    prev_end = 0
    for m in _PARTY_SUFFIX.finditer(text):
        start = m.start()
        while start > max(prev_end, m.start() - _PARTY_MAX_PREFIX) and _is_han(text[start - 1]):
            start -= 1
        prefix = text[start : m.start()]
        name = prefix[max((c.end() for c in _PARTY_CUT.finditer(prefix)), default=0) :]
        places = [p.start() for p in _PLACE_END.finditer(name)]
        if places:
            name = name[max(0, places[-1] - 4) :]
        elif m.group() in _DOMAIN_SUFFIXES:
            name = name[-2:]
        else:
            name = ""
        mentions.append(name + m.group())
        prev_end = m.end()
    return mentions


def _unsupported_facts(claim: str, support: list[str]) -> list[str]:
    """The numbers, dates and parties of a normalised claim not found in any supporting passage."""
    support_numbers = set().union(*(_numbers(s) for s in support))
    missing = [m.group() for m in _NUMBER.finditer(claim) if not _numbers(m.group()) <= support_numbers]
    facts = [m.group() for m in _DATE.finditer(claim)] + _parties(claim)
    missing += [f for f in facts if not any(f in s for s in support)]
    return missing


def split_sentences(text: str) -> list[list[str]]:
    """Lines of sentences; a sentence ends at 。！？!? and keeps the [n] markers written after it."""
    lines: list[list[str]] = []
    for line in text.splitlines():
        sentences: list[str] = []
        for piece in _SENTENCE_END.split(line):
            lead = _LEADING_MARKERS.match(piece)
            previous = sentences or (lines[-1] if lines else None)
            if lead and previous:
                previous[-1] += lead.group().strip()
                piece = piece[lead.end() :]
            if re.search(r"\w", piece):  # skip pieces of bare punctuation
                sentences.append(piece)
        if sentences:
            lines.append(sentences)
    return lines


def _check(answer_text: str, citations: list[Citation]) -> tuple[list[list[str]], list[str], int]:
    """Kept sentences (by line, with markers to unknown passages removed), dropped ones, and the total."""
    support = {c.n: [_norm(c.text), _norm(c.title), _norm(c.section)] for c in citations}
    kept_lines: list[list[str]] = []
    dropped: list[str] = []
    total = 0
    for line in split_sentences(answer_text):
        kept: list[str] = []
        for sentence in line:
            total += 1
            cited = {int(n) for m in _MARKER.finditer(sentence) for n in re.split(r"\D+", m.group(1))}
            known = sorted(cited & support.keys())
            claim = _norm(_ENUMERATOR.sub("", _MARKER.sub("", sentence), count=1))
            passages = [s for n in known for s in support[n]]
            if known and not _unsupported_facts(claim, passages):
                kept.append(_MARKER.sub(lambda m: _keep_known(m, support.keys()), sentence))
            else:
                dropped.append(sentence.strip())
        if kept:
            kept_lines.append(kept)
    return kept_lines, dropped, total


def _keep_known(marker: re.Match[str], known: Collection[int]) -> str:
    """Rewrite one marker so that it names only passages that exist ("" if it names none)."""
    numbers = [n for n in re.split(r"\D+", marker.group(1)) if int(n) in known]
    return "".join(f"[{int(n)}]" for n in numbers)


def verify(answer_text: str, citations: list[Citation]) -> tuple[str, list[str]]:
    """Keep only the generated sentences supported by the passages they cite.

    A sentence is supported when it cites at least one existing passage and every number (integers,
    decimals, percentages, 万/亿 amounts, ranges), date expression (2017年底, 2020年, 6月底) and party
    (…人民政府, …部门, …厅, …局, 兵团, 企业, 单位 …) it states appears in the text, title or section
    of a cited passage, after full/half-width and whitespace normalisation. Returns the kept text
    (line breaks preserved; markers naming no existing passage removed, the rest written as [n][m])
    and the dropped sentences.
    """
    kept_lines, dropped, _ = _check(answer_text, citations)
    return _join(kept_lines), dropped


def _join(kept_lines: list[list[str]]) -> str:
    return "\n".join("".join(line).strip() for line in kept_lines)


# --- synthesis ----------------------------------------------------------------------------------


def _is_timeout(exc: BaseException) -> bool:
    """Whether a failure was a timeout (openai.APITimeoutError, httpx.*Timeout, TimeoutError)."""
    return isinstance(exc, TimeoutError) or any("Timeout" in cls.__name__ for cls in type(exc).__mro__)


def _fallback(
    path: LLMPath,
    extractive: str,
    started: float,
    *,
    dropped: list[str] | None = None,
    raw: str = "",
    error: str = "",
) -> LLMResult:
    """The extractive answer under the notice for ``path``."""
    notice = NOTICES[path]
    return LLMResult(
        text=f"{notice}\n{extractive}",
        path=path,
        notice=notice,
        dropped=dropped or [],
        raw=raw,
        error=error,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _failed(exc: Exception, extractive: str, started: float) -> LLMResult:
    path: LLMPath = "fallback-timeout" if _is_timeout(exc) else "fallback-error"
    return _fallback(path, extractive, started, error=f"{type(exc).__name__}: {exc}")


def _finish(raw: str, extractive: str, citations: list[Citation], started: float) -> LLMResult:
    """Verify the model's output; fall back when too little of it is supported."""
    kept_lines, dropped, total = _check(raw, citations)
    kept = sum(len(line) for line in kept_lines)
    if not kept or kept < MIN_KEPT_RATIO * total:
        return _fallback("fallback-unsupported", extractive, started, dropped=dropped, raw=raw)
    return LLMResult(
        text=_join(kept_lines),
        path="llm",
        dropped=dropped,
        raw=raw,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def synthesize(question: str, extractive: str, citations: list[Citation], settings: Settings) -> LLMResult:
    """Ask the configured LLM for a cited answer over ``citations`` and verify it.

    ``extractive`` is the extractive answer text (with its own [n] markers over the same citations);
    it is what a fallback shows, after the notice. Without citations there is nothing to ground an
    answer on, so the LLM is not called and the path is "skipped" (likewise when no LLM is configured).
    """
    if not citations or not llm_enabled(settings):
        return LLMResult(text=extractive, path="skipped")
    started = time.perf_counter()
    try:
        reply = make_chat_model(settings).invoke(build_messages(question, citations))
    except Exception as exc:  # the LLM is optional: any failure falls back to the extractive answer
        return _failed(exc, extractive, started)
    return _finish(reply.text, extractive, citations, started)


def stream_synthesize(
    question: str, extractive: str, citations: list[Citation], settings: Settings
) -> Iterator[str | LLMResult]:
    """Like `synthesize`, streaming: yields text deltas as they arrive, then one final `LLMResult`.

    The deltas are unverified; a consumer shows them while generating and then replaces them with the
    final result's ``text`` (which may have sentences dropped, or be the extractive fallback).
    """
    if not citations or not llm_enabled(settings):
        yield LLMResult(text=extractive, path="skipped")
        return
    started = time.perf_counter()
    pieces: list[str] = []
    try:
        for chunk in make_chat_model(settings, streaming=True).stream(build_messages(question, citations)):
            if chunk.text:
                pieces.append(chunk.text)
                yield chunk.text
    except Exception as exc:  # the LLM is optional: any failure falls back to the extractive answer
        yield _failed(exc, extractive, started)
        return
    yield _finish("".join(pieces), extractive, citations, started)
