"""jieba tokenisation shared by indexing and querying, with the domain user dictionary loaded first."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from functools import cache
from pathlib import Path

from indexing import jieba_cache

USER_DICT = Path(__file__).with_name("userdict.txt")
# Part of the chunker version: a dictionary change re-cuts every BM25 token list, so it must rebuild the index.
DICT_VERSION = hashlib.sha1(USER_DICT.read_bytes()).hexdigest()[:8]

# Function words and particles that carry no retrieval signal in regulatory Chinese.
STOPWORDS = frozenset(
    "的 了 和 与 及 以及 或 或者 等 在 对 为 是 把 被 将 由 从 向 按 按照 于 其 之 并 并且 而 也 都 要 "
    "应 应当 各 本 该 这 那 有 个 中 上 下 内 外 以 所 其他 有关 相关 进行 实施 开展 加强 推进 "
    "什么 哪些 哪个 哪年 多少 如何 怎么 怎样 是否 吗 呢 吧 啊 请问 请 我 我们 你 谁 几".split()
)
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_lock = threading.Lock()
_SENT_END = re.compile(r"[。！？；!?;]+[”’」』]*|\n+")


def to_halfwidth(text: str) -> str:
    """Fold full-width ASCII forms and the ideographic space to their half-width equivalents."""
    return unicodedata.normalize("NFKC", text) if text else text


@cache
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    jieba_cache.initialize(tok)
    tok.load_userdict(str(USER_DICT))
    return tok


def _prepare(text: str) -> str:
    return to_halfwidth(text).lower()


def cut_words(text: str) -> list[str]:
    """Plain jieba words (precise mode), user dictionary applied; whitespace dropped."""
    with _lock:
        words = _tokenizer().lcut(_prepare(text), HMM=True)
    return [w for w in words if w.strip()]


_RUN = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9.]+")


def char_bigrams(text: str) -> list[str]:
    """Tokens of the character-bigram BM25: overlapping pairs of each run of Chinese characters (a lone character
    stays), and each run of letters and digits whole. Independent of word segmentation, so 排污证 shares 排污 with
    排污许可证 however jieba cuts either."""
    out: list[str] = []
    for m in _RUN.finditer(_prepare(text)):
        run = m.group(0)
        if run[0].isascii():
            out.append(run)
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def cut(text: str) -> list[str]:
    """Retrieval tokens: jieba search-mode pieces without punctuation or stop words."""
    with _lock:
        words = _tokenizer().lcut_for_search(_prepare(text), HMM=True)
    return [w for w in words if _WORD.search(w) and w not in STOPWORDS]


def count_tokens(text: str) -> int:
    """Number of jieba words in a text (the chunk budget unit)."""
    return len(cut_words(text))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of a Chinese text: split after 。！？； (and ASCII !?;) and at line breaks.

    Each span keeps its terminator and excludes surrounding whitespace.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        end = m.start() if text[m.start()] == "\n" else m.end()
        spans.append((start, end))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out
