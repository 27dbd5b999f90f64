"""The quiz's vocabularies (``kb/vocab/quiz_vocab.json``: 责令 measures, filed documents, modal options, the bodies
and matters outside the environmental administration …), and their one loader."""

from __future__ import annotations

import json
from functools import lru_cache

from kb.vocab import vocab_path

VOCAB_FILE = vocab_path("quiz_vocab.json")


@lru_cache(maxsize=1)
def vocab() -> dict:
    """The quiz vocabularies (``kb/vocab/quiz_vocab.json``), loaded once."""
    return json.loads(VOCAB_FILE.read_text(encoding="utf-8"))
