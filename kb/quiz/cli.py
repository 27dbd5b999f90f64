"""`kb quiz`: load the register (or build it straight from the corpus) and print a quiz."""

from __future__ import annotations

import sys
from pathlib import Path

from kb.cli_io import emit
from kb.inputs import check_one
from kb.quiz.build import FORMATTERS, generate, quiz_documents, quiz_domains

# ---------------------------------------------------------------------------------------------------------
# Register and CLI
# ---------------------------------------------------------------------------------------------------------


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


def cmd_quiz(args, settings) -> int:
    """`kb quiz`: generate a quiz and print it as md (default), json, csv, gift or aiken."""
    fmt = getattr(args, "format", "md") or "md"
    kinds = getattr(args, "kind", None)
    n = int(getattr(args, "n", 10))
    if n < 1:
        print("参数错误：--n 必须是正整数。", file=sys.stderr)
        return 2
    if fmt == "aiken":
        if kinds and "mcq" not in kinds:
            print("Aiken 格式只支持单选题（--kind mcq）。", file=sys.stderr)
            return 2
        kinds = ["mcq"]
    register = load_quiz_register(settings)
    repealed = bool(getattr(args, "include_repealed", False))
    docs = quiz_documents(register, include_repealed=True)
    try:  # an unknown document or domain is an error listing the valid ones (kb.inputs.UnknownFilterError)
        doc = check_one("doc", "文档（doc_id，须有可出题的内容）", getattr(args, "doc", None), [d for _, d in docs])
        domain = check_one("domain", "领域", getattr(args, "domain", None), quiz_domains(register))
        items = generate(register, n=n, seed=int(getattr(args, "seed", 0)), kinds=kinds, doc=doc, domain=domain,
                         period=getattr(args, "period", None), include_repealed=repealed)
    except ValueError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    if not items:
        print("没有符合条件的题目：请放宽文档、领域或题型的筛选。", file=sys.stderr)
        return 1
    if len(items) < n:
        print(f"符合条件的素材只够生成 {len(items)} 道题（要求 {n} 道）。", file=sys.stderr)
    emit(FORMATTERS[fmt](items), getattr(args, "output", None))
    return 0

