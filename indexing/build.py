"""The indexing pipeline: corpus -> documents -> sections -> chunks -> vectors + BM25, incremental and locked."""

from __future__ import annotations

import errno
import hashlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from indexing import store
from indexing.chunker import JiebaChunker
from indexing.config import Settings
from indexing.loaders import LoadError, corpus_files, load_document
from indexing.manifest import read_manifest
from indexing.structure import parse_sections
from indexing.tokenize import cut
from indexing.types import Chunk, Document, Section

log = logging.getLogger(__name__)
LOCK_WAIT_S = 900.0
CHROMA_BATCH = 1000
# A .txt/.md file larger than this is rejected: the biggest corpus text is 70 KB, and 50 MB of text
# would take hours to embed on a CPU (PDFs keep the general upload limit, their bytes are mostly not text).
MAX_TEXT_BYTES = 10 * 1024 * 1024

# Called with the new generation's directory and the parsed documents before it goes live.
GenerationHook = Callable[[Path, list[tuple[Document, list[Section]]]], None]


class IndexBusy(store.KBIndexError):
    """Another indexer holds the lock."""


class IndexDiskFull(store.KBIndexError):
    """The disk filled up while a new generation was written; the live generation is untouched."""


def _disk_full(exc: BaseException) -> bool:
    """Whether an exception (or one it was raised from) says the disk or quota is full."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(e).lower()
        if "disk is full" in text or "no space left" in text:  # SQLite (Chroma) and Rust I/O errors
            return True
        e = e.__cause__ or e.__context__
    return False


@dataclass
class BuildReport:
    """What one `kb index` run did, with seconds per stage."""

    status: str  # unchanged | built
    generation: str
    n_docs: int = 0
    n_chunks: int = 0
    n_tokens: int = 0
    embedded: int = 0
    reused: int = 0
    embedded_doc_ids: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Chinese multi-line summary for the CLI."""
        if self.status == "unchanged":
            head = f"索引已是最新（{self.generation}），无需重建。"
        else:
            head = (
                f"索引已建立：{self.n_docs} 个文档，{self.n_chunks} 个片段，{self.n_tokens} 个词元；"
                f"新嵌入 {self.embedded}，复用 {self.reused}。"
            )
        stages = "；".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        lines = [head, f"各阶段耗时：{stages}"]
        lines += [f"警告：{w}" for w in self.warnings]
        return "\n".join(lines)


def corpus_fingerprint(corpus_dir: Path) -> tuple[str, dict[str, str]]:
    """Hash of every indexable file and the manifest; also each file's own hash."""
    hashes: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        hashes[path.relative_to(corpus_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = corpus_dir / "MANIFEST.tsv"
    if manifest.exists():
        hashes["MANIFEST.tsv"] = hashlib.sha256(manifest.read_bytes()).hexdigest()
    whole = hashlib.sha256("\n".join(f"{k}\t{v}" for k, v in sorted(hashes.items())).encode()).hexdigest()
    return whole, hashes


def _up_to_date(settings: Settings, fingerprint: str, model_id: str, chunker_version: str) -> str | None:
    live = store.live_generation(settings)
    if live is None or not live.is_dir():
        return None
    try:
        meta = store.read_meta(live)
    except store.KBIndexError:
        return None
    same = (meta.fingerprint, meta.model_id, meta.chunker_version) == (fingerprint, model_id, chunker_version)
    healthy = (live / "chunks.jsonl").exists() and (live / "bm25").is_dir()
    if not settings.chroma_url:
        healthy = healthy and (live / "chroma").is_dir()
    return live.name if same and healthy else None


def load_corpus(settings: Settings, warnings: list[str]) -> list[tuple[Document, list[Section]]]:
    """Load and structure every corpus document, turning unreadable files into warnings."""
    manifest = read_manifest(settings.corpus_dir)
    out: list[tuple[Document, list[Section]]] = []
    limit = settings.max_upload_mb * 1024 * 1024
    for path in corpus_files(settings.corpus_dir):
        rel = path.relative_to(settings.corpus_dir).as_posix()
        max_bytes = limit if path.suffix.lower() == ".pdf" else min(limit, MAX_TEXT_BYTES)
        try:
            doc = load_document(path, settings.corpus_dir, manifest.get(rel), max_bytes=max_bytes)
        except LoadError as e:
            warnings.append(f"{rel}：{e}")
            continue
        if rel not in manifest:
            warnings.append(f"{rel} 不在 MANIFEST.tsv 中，元数据取自文件内容。")
        out.append((doc, parse_sections(doc)))
    return out


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="段", disable=not sys.stderr.isatty(), leave=False)


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    embeddings=None,
    chunker: JiebaChunker | None = None,
    on_generation: GenerationHook | None = None,
    lock_wait_s: float = LOCK_WAIT_S,
) -> BuildReport:
    """Bring the index up to date with the corpus, building a new generation aside and swapping it in."""
    from indexing.embeddings import load_embeddings, model_id_for

    chunker = chunker or JiebaChunker()
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.index_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print("另一个索引进程正在运行，等待其完成……", file=sys.stderr)
        try:
            lock.acquire(timeout=lock_wait_s)
        except Timeout as e:
            raise IndexBusy("另一个索引进程仍在运行，请稍后再试。") from e
    try:
        return _build_locked(settings, rebuild, embeddings, chunker, on_generation, load_embeddings, model_id_for)
    finally:
        lock.release()


def _build_locked(settings, rebuild, embeddings, chunker, on_generation, load_embeddings, model_id_for):
    t = {}
    # We hold the lock: a generation without metadata was left by an indexer that died mid-build.
    store.remove_abandoned(settings)
    t0 = time.perf_counter()
    fingerprint, _ = corpus_fingerprint(settings.corpus_dir)
    # The model id is known without loading the model for the default one; else the model is loaded first.
    if embeddings is None and model_id_for(settings) is None:
        embeddings = load_embeddings(settings)
    model_id = embeddings.model_id if embeddings is not None else model_id_for(settings)
    live_name = None if rebuild else _up_to_date(settings, fingerprint, model_id, chunker.version)
    t["扫描"] = time.perf_counter() - t0
    if live_name:
        return BuildReport(status="unchanged", generation=live_name, seconds=t)

    warnings: list[str] = []
    t0 = time.perf_counter()
    docs = load_corpus(settings, warnings)
    t["加载与结构"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    chunks: list[Chunk] = []
    for doc, sections in docs:
        chunks.extend(chunker.split_document(doc, sections))
    token_lists = [cut(c.embed_text) for c in chunks]
    t["切分"] = time.perf_counter() - t0

    if embeddings is None:
        t0 = time.perf_counter()
        embeddings = load_embeddings(settings)
        t["加载模型"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    previous = store.live_generation(settings)
    known = {} if rebuild else store.read_vector_cache(previous, model_id)
    keys = [store.chunk_key(c) for c in chunks]
    todo = [i for i, k in enumerate(keys) if k not in known]
    bar = _progress(len(todo), "嵌入")
    # Blocks much larger than the model's batch let sentence-transformers sort by length and pad less.
    block = max(1, settings.embed_batch) * 8
    for s in range(0, len(todo), block):
        rows = todo[s : s + block]
        for i, v in zip(rows, embeddings.embed_documents([chunks[i].embed_text for i in rows]), strict=True):
            known[keys[i]] = np.asarray(v, dtype=np.float32)
        bar.update(len(rows))
    bar.close()
    t["嵌入"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    gen_dir = store.new_generation(settings)
    try:
        store.write_chunks(gen_dir, chunks)
        dim = len(next(iter(known.values()))) if known else 0
        vectors = np.stack([known[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
        store.write_vectors(gen_dir, keys, vectors)
        store.write_bm25(gen_dir, token_lists)
        vs = store.vectorstore(settings, gen_dir, store.PrecomputedEmbeddings(embeddings, known))
        for s in range(0, len(chunks), CHROMA_BATCH):
            part = chunks[s : s + CHROMA_BATCH]
            vs.add_texts(
                texts=[c.embed_text for c in part],
                metadatas=[_chroma_metadata(c) for c in part],
                ids=[c.chunk_id for c in part],
            )
        if on_generation is not None:
            on_generation(gen_dir, docs)
        meta = store.IndexMeta(
            generation=gen_dir.name,
            fingerprint=fingerprint,
            chunker_version=chunker.version,
            model_id=model_id,
            dimension=int(dim),
            doc_hashes={d.doc_id: d.sha256 for d, _ in docs},
            n_docs=len(docs),
            n_chunks=len(chunks),
            n_tokens=sum(len(x) for x in token_lists),
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            stats={},
            warnings=warnings,
        )
        t["写入"] = time.perf_counter() - t0
        meta.stats = dict(t)
        store.write_meta(gen_dir, meta)
        store.swap_in(settings, gen_dir)
    except BaseException as e:
        store.remove_generation(settings, gen_dir)
        if isinstance(e, Exception) and _disk_full(e):
            raise IndexDiskFull(
                f"磁盘空间不足，无法写入新索引（{settings.index_dir}）；原索引保持不变，请清理磁盘空间后重试。"
            ) from e
        raise
    embedded_docs = sorted({chunks[i].doc_id for i in todo})
    return BuildReport(
        status="built",
        generation=gen_dir.name,
        n_docs=len(docs),
        n_chunks=len(chunks),
        n_tokens=meta.n_tokens,
        embedded=len(todo),
        reused=len(chunks) - len(todo),
        embedded_doc_ids=embedded_docs,
        seconds=t,
        warnings=warnings,
    )


def _chroma_metadata(c: Chunk) -> dict[str, str | int]:
    md: dict[str, str | int] = {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "kind": c.kind,
        "section": c.section,
        "start": c.start,
        "end": c.end,
    }
    if c.article:
        md["article"] = c.article
    if c.page is not None:
        md["page"] = c.page
    return md
