"""The register a quiz is drawn from: the live index's, or one built straight from the corpus (no embeddings)."""

from __future__ import annotations

import sys
from pathlib import Path


def load_quiz_register(settings, warn=None):
    """The register of the live index, or one built straight from the corpus (cheap: no embeddings)."""
    from kb.register.obligations import REGISTER_FILE, REGISTER_VERSION, build_register, load_register

    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    index_dir = Path(settings.index_dir)
    if index_dir.is_dir():
        from indexing.store import live_generation

        gen = live_generation(settings)
        if gen is not None and (gen / REGISTER_FILE).exists():
            register = load_register(gen / REGISTER_FILE)
            if register.version >= REGISTER_VERSION:
                return register
            warn("索引中的义务清单版本较旧（缺少法律题素材），直接从语料重新生成；运行 kb index --rebuild 可更新索引。")
        else:
            warn("未找到已建立的索引，直接从语料生成义务清单（无需向量模型）。")
    else:
        warn("未找到已建立的索引，直接从语料生成义务清单（无需向量模型）。")
    warnings: list[str] = []
    register = build_register(_load_dutiful_corpus(settings, warnings))
    for w in warnings:
        warn(f"警告：{w}")
    return register


def _load_dutiful_corpus(settings, warnings: list[str]) -> list:
    """Like ``indexing.build.load_corpus``, without the catalogues (manifest kind "list").

    Lists state no duties (``extract_obligations`` returns none for them) and their PDFs take most of the
    loading time (≈15 of 17 s on a busy machine), so the register is the same and comes several times faster.
    """
    from indexing.build import load_corpus
    from indexing.loaders import LoadError, corpus_files, load_document
    from indexing.manifest import read_manifest
    from indexing.structure import parse_sections

    manifest = read_manifest(settings.corpus_dir)
    if not manifest:
        return load_corpus(settings, warnings)
    out = []
    for path in corpus_files(settings.corpus_dir):
        rel = path.relative_to(settings.corpus_dir).as_posix()
        entry = manifest.get(rel)
        if entry is not None and getattr(entry, "kind", "") == "list":
            continue
        try:
            doc = load_document(path, settings.corpus_dir, entry)
        except LoadError as e:
            warnings.append(f"{rel}：{e}")
            continue
        out.append((doc, parse_sections(doc)))
    return out
