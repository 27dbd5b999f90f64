"""jieba's prefix dictionary through our faster cache: the very same dictionary, rebuilt when the file is bad."""

from __future__ import annotations

from pathlib import Path

import jieba

from indexing import jieba_cache


def _fresh() -> jieba.Tokenizer:
    return jieba.Tokenizer()


def test_the_cache_gives_jiebas_own_dictionary(tmp_path: Path) -> None:
    ref = _fresh()
    ref.initialize()
    built = _fresh()
    jieba_cache.initialize(built, tmp_path)  # no cache yet: jieba's loader, then the file is written
    assert jieba_cache.cache_path(tmp_path).is_file()
    loaded = _fresh()
    jieba_cache.initialize(loaded, tmp_path)
    assert loaded.initialized and loaded.FREQ == ref.FREQ == built.FREQ and loaded.total == ref.total
    assert loaded.lcut("到2020年秸秆收集利用率达到90%") == ref.lcut("到2020年秸秆收集利用率达到90%")


def test_a_damaged_cache_is_read_afresh_and_rewritten(tmp_path: Path) -> None:
    path = jieba_cache.cache_path(tmp_path)
    path.write_bytes(b"\x00not marshal")
    tok = _fresh()
    jieba_cache.initialize(tok, tmp_path)
    ref = _fresh()
    ref.initialize()
    assert tok.FREQ == ref.FREQ
    again = _fresh()
    jieba_cache.initialize(again, tmp_path)
    assert again.FREQ == ref.FREQ and path.stat().st_size > 1_000_000
