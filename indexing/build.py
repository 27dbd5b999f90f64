"""The indexing pipeline: corpus -> documents -> sections -> chunks -> vectors + BM25, incremental and locked."""

from __future__ import annotations

import errno
import hashlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from filelock import FileLock, Timeout

from indexing import integrity, sentence_vectors, store
from indexing.chunker import JiebaChunker
from indexing.config import Settings
from indexing.loaders import LoadError, corpus_files, load_document
from indexing.manifest import read_manifest
from indexing.shipped_vectors import shipped_vectors
from indexing.structure import parse_sections
from indexing.tokenize import char_bigrams, cut
from indexing.types import Chunk, Document, Section

log = logging.getLogger(__name__)
LOCK_WAIT_S = 900.0
# A .txt/.md file larger than this is rejected: the biggest corpus text is 70 KB, and 50 MB of text
# would take hours to embed on a CPU (PDFs keep the general upload limit, their bytes are mostly not text).
MAX_TEXT_BYTES = 10 * 1024 * 1024



class DocumentSink(Protocol):
    """An index-time consumer of the documents as they stream past (e.g. the obligations register).

    Its ``version`` names the format of what it writes: a live index written by another version is rebuilt (the
    vectors are reused), so that readers never re-extract an outdated register at every start.
    """

    version: str

    def add(self, doc: Document, sections: list[Section]) -> None:
        """Take one loaded and structured document."""

    def finish(self, gen_dir: Path) -> None:
        """Write what was gathered into the new generation before it goes live."""


# progress(stage, done, total): a stage name in Chinese and, while embedding, chunks done of total.
Progress = Callable[[str, int, int], None]


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


def _check_live(
    settings: Settings, fingerprint: str, model_id: str, chunker_version: str
) -> tuple[str | None, dict[str, str]]:
    """The live generation's name when it is current and intact (else None), and its damaged files.

    Every file is compared with the size and SHA-256 recorded at build time (indexing.integrity).
    """
    live = store.live_generation(settings)
    if live is None or not live.is_dir():
        return None, {}
    try:
        meta = store.read_meta(live)
    except store.KBIndexError:
        return None, {"meta.json": "无法读取"}
    bad = integrity.damaged_files(live, meta.files, checksums=True) if meta.files else {}
    same = (meta.fingerprint, meta.model_id, meta.chunker_version, meta.bm25) == (
        fingerprint, model_id, chunker_version, store.BM25_PARAMS)
    complete = (live / store.BIGRAM_DIR).is_dir() and (live / sentence_vectors.VECTORS).is_file()
    healthy = bool(meta.files) and not bad and complete
    return (live.name if same and healthy else None), bad


def iter_corpus_sections(settings: Settings, warnings: list[str],
                         skip_kinds: tuple[str, ...] = ()) -> Iterator[tuple[Document, list[Section]]]:
    """Load and structure corpus documents one at a time, turning unreadable files into warnings.

    Files whose manifest kind is in ``skip_kinds`` are passed over unread.
    """
    manifest = read_manifest(settings.corpus_dir)
    limit = settings.max_upload_mb * 1024 * 1024
    for path in corpus_files(settings.corpus_dir):
        rel = path.relative_to(settings.corpus_dir).as_posix()
        if rel in manifest and manifest[rel].kind in skip_kinds:
            continue
        max_bytes = limit if path.suffix.lower() == ".pdf" else min(limit, MAX_TEXT_BYTES)
        try:
            doc = load_document(path, settings.corpus_dir, manifest.get(rel), max_bytes=max_bytes)
        except LoadError as e:
            warnings.append(f"{rel}：{e}")
            continue
        if rel not in manifest:
            warnings.append(f"{rel} 不在 MANIFEST.tsv 中，元数据取自文件内容。")
        yield doc, parse_sections(doc)


def load_corpus(settings: Settings, warnings: list[str]) -> list[tuple[Document, list[Section]]]:
    """Every corpus document with its sections, in memory (for browsing; the indexer streams instead)."""
    return list(iter_corpus_sections(settings, warnings))


class TokenIds:
    """BM25 token lists kept once, as int32 id arrays over a shared vocabulary."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.ids: list[np.ndarray] = []
        self.total = 0

    def add(self, tokens: list[str]) -> None:
        """Append one chunk's tokens."""
        vocab = self.vocab
        self.ids.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), np.int32, len(tokens)))
        self.total += len(tokens)


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    embeddings=None,
    chunker: JiebaChunker | None = None,
    sinks: Sequence[DocumentSink] = (),
    lock_wait_s: float = LOCK_WAIT_S,
    progress: Progress | None = None,
    repair: bool = False,
) -> BuildReport:
    """Bring the index up to date with the corpus, building a new generation aside and swapping it in.

    The live generation's files are verified first; a damaged one is rebuilt, reusing its vectors only when
    the vector files are intact. ``repair`` builds a new generation even when everything looks current (the
    caller found damage the file checks cannot see). ``progress(stage, done, total)`` is called as stages
    start and as embedding blocks finish.
    """
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
        return _build_locked(settings, rebuild, embeddings, chunker, sinks, progress or _no_progress,
                             load_embeddings, model_id_for, repair)
    finally:
        lock.release()


def build_running(settings: Settings) -> bool:
    """Whether another process holds the indexer lock right now (it is building a new generation)."""
    path = settings.index_dir / ".lock"
    if not path.exists():
        return False
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def _no_progress(stage: str, done: int, total: int) -> None:
    """Default progress callback: report nothing."""


@dataclass
class _Scanned:
    """Pass 1 over the corpus: the chunks and their BM25 token ids; never every document at once."""

    chunks: list[Chunk] = field(default_factory=list)
    tokens: TokenIds = field(default_factory=TokenIds)
    bigrams: TokenIds = field(default_factory=TokenIds)
    doc_hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Embedded:
    """Pass 2: the vectors' dimension, the seconds spent in the model and the documents that needed it."""

    dim: int = 0
    seconds: float = 0.0
    doc_ids: set[str] = field(default_factory=set)


def _fingerprint(settings: Settings, sinks: Sequence[DocumentSink]) -> str:
    """The corpus fingerprint, with the sinks' format versions: what they write is part of what makes an index
    current."""
    fingerprint, _ = corpus_fingerprint(settings.corpus_dir)
    versions = [v for v in (getattr(sink, "version", "") for sink in sinks) if v]
    if versions:
        fingerprint = hashlib.sha256("\n".join([fingerprint, *versions]).encode()).hexdigest()
    return fingerprint


def _scan(settings: Settings, chunker, sinks: Sequence[DocumentSink], warnings: list[str]) -> _Scanned:
    """Stream the documents: chunk them, count their tokens, and hand each to the sinks."""
    scanned = _Scanned()
    for doc, sections in iter_corpus_sections(settings, warnings):
        scanned.doc_hashes[doc.doc_id] = doc.sha256
        for c in chunker.split_document(doc, sections):
            scanned.chunks.append(c)
            scanned.tokens.add(cut(c.embed_text))
            scanned.bigrams.add(char_bigrams(c.embed_text))
        for sink in sinks:
            sink.add(doc, sections)
    return scanned


def _embed_into(settings: Settings, gen_dir: Path, chunks: list[Chunk], keys: list[str], known: dict,
                embeddings, progress: Progress) -> _Embedded:
    """Embed the chunks whose vectors are not ``known`` and write every vector to vectors.npy and Chroma, in
    blocks much larger than the model's batch (sentence-transformers then sorts by length and pads less)."""
    out = _Embedded()
    block = max(1, settings.embed_batch) * 8
    vs = None
    vectors = None
    todo = sum(1 for k in keys if k not in known)
    progress("嵌入", 0, todo)
    done = 0
    for s in range(0, len(chunks), block):
        part, part_keys = chunks[s : s + block], keys[s : s + block]
        missing = [i for i, k in enumerate(part_keys) if k not in known]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            t1 = time.perf_counter()
            got = embeddings.embed_documents([part[i].embed_text for i in missing])
            out.seconds += time.perf_counter() - t1
            for i, v in zip(missing, got, strict=True):
                fresh[part_keys[i]] = np.asarray(v, dtype=np.float32)
                out.doc_ids.add(part[i].doc_id)
            done += len(missing)
            progress("嵌入", done, todo)
        block_vectors = np.stack([fresh.get(k, known.get(k)) for k in part_keys])
        if vectors is None:
            vectors = store.open_vectors(gen_dir, len(chunks), block_vectors.shape[1])
            vs = store.vectorstore(settings, gen_dir, store.PrecomputedEmbeddings(embeddings, {}))
        vectors[s : s + len(part)] = block_vectors
        vs.embeddings.known = dict(zip(part_keys, block_vectors, strict=True))
        vs.add_texts(
            texts=[c.embed_text for c in part],
            metadatas=[_chroma_metadata(c) for c in part],
            ids=[c.chunk_id for c in part],
        )
    if vectors is not None:
        out.dim = int(vectors.shape[1])
        vectors.flush()
    return out


def _write_rest(gen_dir: Path, scanned: _Scanned, keys: list[str], sinks: Sequence[DocumentSink]) -> None:
    """Write what a generation holds besides its vectors: keys, chunks, both BM25 indexes and the sinks' files."""
    store.write_vector_keys(gen_dir, keys)
    store.write_chunks(gen_dir, scanned.chunks)
    store.write_bm25(gen_dir, scanned.tokens.ids, scanned.tokens.vocab)
    store.write_bm25(gen_dir, scanned.bigrams.ids, scanned.bigrams.vocab, store.BIGRAM_DIR)
    for sink in sinks:
        sink.finish(gen_dir)


def _build_locked(settings, rebuild, embeddings, chunker, sinks, progress, load_embeddings, model_id_for, repair):
    t = {}
    # We hold the lock: a generation without metadata was left by an indexer that died mid-build.
    store.remove_abandoned(settings)
    t0 = time.perf_counter()
    fingerprint = _fingerprint(settings, sinks)
    # The model id is known without loading the model for the default one; else the model is loaded first.
    if embeddings is None and model_id_for(settings) is None:
        embeddings = load_embeddings(settings)
    model_id = embeddings.model_id if embeddings is not None else model_id_for(settings)
    live_name, damaged = _check_live(settings, fingerprint, model_id, chunker.version)
    t["扫描"] = time.perf_counter() - t0
    if live_name and not (rebuild or repair):
        return BuildReport(status="unchanged", generation=live_name, seconds=t)

    progress("加载与切分", 0, 0)
    warnings: list[str] = []
    if damaged:
        live = store.live_generation(settings)
        warnings.append(integrity.describe(live.name if live else "?", damaged) + "，已重建。")
    t0 = time.perf_counter()
    scanned = _scan(settings, chunker, sinks, warnings)
    chunks = scanned.chunks
    t["加载与切分"] = time.perf_counter() - t0

    if embeddings is None:
        t0 = time.perf_counter()
        embeddings = load_embeddings(settings)
        t["加载模型"] = time.perf_counter() - t0

    previous = store.live_generation(settings)
    reuse = not rebuild and integrity.vectors_intact(damaged)
    known = store.read_vector_cache(previous, model_id) if reuse else {}
    if settings.shipped_vectors:
        known = {**shipped_vectors(model_id), **known}
    keys = [store.chunk_key(c) for c in chunks]
    todo = sum(1 for k in keys if k not in known)
    gen_dir = store.new_generation(settings)
    try:
        t0 = time.perf_counter()
        embedded = _embed_into(settings, gen_dir, chunks, keys, known, embeddings, progress)
        _, sentence_seconds = sentence_vectors.embed_sentences(
            gen_dir, sentence_vectors.sentence_units(chunks), known, embeddings, progress)
        t["嵌入"] = embedded.seconds + sentence_seconds
        del known
        progress("写入", 0, 0)
        _write_rest(gen_dir, scanned, keys, sinks)
        meta = store.IndexMeta(
            generation=gen_dir.name,
            fingerprint=fingerprint,
            chunker_version=chunker.version,
            model_id=model_id,
            dimension=embedded.dim,
            doc_hashes=scanned.doc_hashes,
            n_docs=len(scanned.doc_hashes),
            n_chunks=len(chunks),
            n_tokens=scanned.tokens.total,
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            stats={},
            warnings=warnings,
            bm25=dict(store.BM25_PARAMS),
        )
        store.settle(settings, gen_dir)
        meta.files = integrity.file_manifest(gen_dir)
        t["写入"] = time.perf_counter() - t0 - t["嵌入"]
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
    return BuildReport(
        status="built",
        generation=gen_dir.name,
        n_docs=len(scanned.doc_hashes),
        n_chunks=len(chunks),
        n_tokens=scanned.tokens.total,
        embedded=todo,
        reused=len(chunks) - todo,
        embedded_doc_ids=sorted(embedded.doc_ids),
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
