"""Question text at the boundary: unprintable characters out, markup and SQL noise around a question out.

``clean_text`` makes any string safe to encode, print and log (lone surrogates and control characters go);
``clean_question`` also strips what is not part of a question (HTML/script tags, SQL injection fragments, runs
of symbols), so ``<script>…</script>排污许可证有效期多长？`` is routed and answered like the bare question.
"""

from __future__ import annotations

import html
import re
import unicodedata

_SURROGATES = re.compile(r"[\ud800-\udfff]")
_SCRIPT_BLOCK = re.compile(r"<\s*(script|style|iframe|object|svg)\b[^>]*>.*?<\s*/\s*\1\s*>", re.I | re.S)
_TAG = re.compile(r"</?\s*[a-zA-Z!][^<>]{0,400}>|<!--.*?-->", re.S)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
# An ASCII stretch (no CJK) that carries SQL syntax: keywords in SQL order, tautologies, comments.
_SQL = re.compile(
    r"(?i)\b(?:union\s+(?:all\s+)?select|select\s+\S.{0,80}?\bfrom|insert\s+into|delete\s+from"
    r"|drop\s+(?:table|database)|update\s+\w+\s+set|exec(?:ute)?\s+xp_)\b.*"  # a statement: to the run's end
    r"|(?:\b(?:and|or)\s+)?\b(?:sleep\s*\(\s*\d+\s*\)|benchmark\s*\(.*?\)|waitfor\s+delay\s+\S+)"
    r"|(?:'|\")\s*(?:or|and)\s+[^\u4e00-\u9fff]{0,20}?=[^\u4e00-\u9fff]{0,20}"
    r"|\b(?:or|and)\s+\d+\s*=\s*\d+|--+|/\*.*?\*/|;+"
    r"|\{\{.*?\}\}|\$\{.*?\}"  # template syntax
)
_ASCII_RUN = re.compile(r"[\x20-\x7e]+")
_SYMBOLS_ONLY = re.compile(r"[\W_]+")  # a run with no letters or digits (in any script)
_NOISE_SYMBOL = re.compile(r"[<>{}\[\]'\"`;|$%&*=^~\\#@]")  # symbols that are no part of a question
_SPACES = re.compile(r"\s+")
_CUT = "\ufffe"  # marks where markup was cut out: nothing between two CJK characters, else a space
_CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CUT_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}]){_CUT}+(?=[{_CJK}])")


def clean_text(text: str) -> str:
    """Drop lone surrogates and control/format characters (keeping tab and newline as spaces)."""
    text = _SURROGATES.sub("", text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r":
            out.append(" ")
        elif cat in ("Cc", "Cs", "Co", "Cn") or (cat == "Cf" and ch not in "\u200d"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def _strip_ascii_noise(run: str) -> str:
    """An ASCII stretch without its SQL fragments; dropped whole when only symbols remain."""
    kept = _SQL.sub(" ", run)
    core = kept.strip()
    if not core or (_SYMBOLS_ONLY.fullmatch(core) and (len(core) > 3 or _NOISE_SYMBOL.search(core))):
        return " " if run[:1].isspace() or run[-1:].isspace() else ""
    return kept


def clean_question(text: str) -> str:
    """The question a user meant: ``clean_text``, then markup, entities, SQL fragments and symbol runs removed.

    Ordinary questions pass unchanged (apart from surrounding space): Chinese punctuation, 《》, PM2.5,
    GB 3095-2012 and "1.5倍" are kept. Returns "" when nothing of a question is left.
    """
    text = clean_text(text or "")
    if "&" in text:
        text = clean_text(html.unescape(text))
    text = _SCRIPT_BLOCK.sub(_CUT, text)
    text = _TAG.sub(_CUT, text)
    text = _ENTITY.sub(_CUT, text)
    text = _ASCII_RUN.sub(lambda m: _strip_ascii_noise(m.group()), text)
    text = _CUT_BETWEEN_CJK.sub("", text).replace(_CUT, " ")
    return _SPACES.sub(" ", text).strip()
