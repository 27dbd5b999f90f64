"""On-disk index: generations holding Chroma vectors, jieba and character-bigram BM25 indexes and chunk records,
swapped atomically.

Layout under ``settings.index_dir``::

    CURRENT            name of the live generation (replaced atomically)
    .lock              held by the one indexer allowed at a time
    g-<time>-<rand>/   meta.json, chunks.jsonl, vectors.npy, vector_keys.json, bm25/, bm25-bigrams/,
                       chroma/ (embedded mode)

In server mode (KB_CHROMA_URL) the vectors live in the server's collection ``kb-<generation>`` and the rest
stays local, so the same metadata checks apply to both.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from langchain_core.embeddings import Embeddings

from indexing import integrity, leases, sentence_vectors
from indexing.config import Settings
from indexing.types import Chunk

log = logging.getLogger(__name__)
CURRENT = "CURRENT"
META = "meta.json"
KEEP_GENERATIONS = 2  # the live one and the one before it (another process may still read it)
# BM25 term-frequency saturation and length normalisation, chosen on eval/qa_dev.jsonl (kb eval, hybrid R@1 0.738
# at bm25s' defaults k1=1.5 b=0.75 -> 0.780, R@5 unchanged): chunks range from a heading with one sentence to a
# whole article, and full length normalisation let short chunks that merely repeat a question word win.
BM25_PARAMS: dict[str, float] = {"k1": 1.2, "b": 0.3}
BIGRAM_DIR = "bm25-bigrams"  # the character-bigram BM25 (indexing.tokenize.char_bigrams) beside the jieba one
# Chroma's default ef_search (100) made the 50 dense candidates differ from the exact top 50 for 73 of 256 eval
# questions; min-max normalisation then moved every fused score, so answers flipped between runs. 512 is exact on
# the 256 questions for this corpus and costs about 1 ms a query (Chroma query p50 3.5 -> 4.7 ms).
HNSW_METADATA = {"hnsw:space": "cosine", "hnsw:search_ef": 512, "hnsw:construction_ef": 512}


class KBIndexError(Exception):
    """Base for index problems; ``str(e)`` is a user-facing Chinese message."""


class IndexMissing(KBIndexError):
    """No index has been built yet."""


class IndexCorrupt(KBIndexError):
    """The index on disk is unreadable or inconsistent and must be rebuilt."""


class IndexIncompatible(KBIndexError):
    """The index was built with another embedding model or chunker."""


@dataclass
class IndexMeta:
    """What an index generation was built from; a mismatch with the present means rebuild."""

    generation: str
    fingerprint: str
    chunker_version: str
    model_id: str
    dimension: int
    doc_hashes: dict[str, str]
    n_docs: int
    n_chunks: int
    n_tokens: int
    created: str
    stats: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    bm25: dict[str, float] = field(default_factory=dict)  # BM25_PARAMS the generation was built with
    files: dict[str, list] = field(default_factory=dict)  # {path: [size, sha256]}, see indexing.integrity


def chunk_key(chunk: Chunk) -> str:
    """Cache key of a chunk's vector: the hash of exactly what is embedded."""
    return hashlib.sha1(chunk.embed_text.encode("utf-8")).hexdigest()


def _collection_name(generation: str) -> str:
    return f"kb-{generation}"


_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _persistent_client(path: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    with _clients_lock:
        if path not in _clients:
            _clients[path] = chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))
        return _clients[path]


def close_client(gen_dir: Path) -> None:
    """Close this process's embedded Chroma client of a generation (no-op when none is open)."""
    with _clients_lock:
        client = _clients.pop(str(gen_dir / "chroma"), None)
    if client is not None:
        try:
            client.close()
        except Exception:
            log.warning("closing the Chroma client of %s failed", gen_dir.name, exc_info=True)


def settle(settings: Settings, gen_dir: Path) -> None:
    """Let embedded Chroma write its files as every later open will leave them, so their sizes can be recorded.

    Chroma rewrites its HNSW files when a client first loads the collection; a fresh client that loads and
    queries it once, then closes, leaves them in their final form.
    """
    if settings.chroma_url:
        return
    close_client(gen_dir)
    collection = chroma_client(settings, gen_dir).get_collection(_collection_name(gen_dir.name))
    first = collection.get(limit=1, include=["embeddings"])
    if first["ids"]:
        collection.query(query_embeddings=[list(first["embeddings"][0])], n_results=1)
    close_client(gen_dir)


@cache
def _http_client(url: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    u = urlparse(url)
    return chromadb.HttpClient(
        host=u.hostname or "127.0.0.1",
        port=u.port or 8000,
        ssl=u.scheme == "https",
        settings=ChromaSettings(anonymized_telemetry=False),
    )


def chroma_client(settings: Settings, gen_dir: Path):
    """The Chroma client for a generation: a server when KB_CHROMA_URL is set, else embedded on disk."""
    if settings.chroma_url:
        return _http_client(settings.chroma_url)
    return _persistent_client(str(gen_dir / "chroma"))


def vectorstore(settings: Settings, gen_dir: Path, embeddings: Embeddings):
    """The LangChain Chroma vector store of a generation (never chromadb's default embedding function)."""
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=_collection_name(gen_dir.name),
        embedding_function=embeddings,
        client=chroma_client(settings, gen_dir),
        collection_metadata=HNSW_METADATA,
        create_collection_if_not_exists=True,
    )


class PrecomputedEmbeddings(Embeddings):
    """Serves vectors already computed for known texts and delegates the rest (queries) to a real model."""

    def __init__(self, base: Embeddings, known: dict[str, np.ndarray]) -> None:
        self.base = base
        self.known = known

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for texts, computing only those not already known."""
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        missing = [t for t, k in zip(texts, keys, strict=True) if k not in self.known]
        if missing:
            for t, v in zip(missing, self.base.embed_documents(missing), strict=True):
                self.known[hashlib.sha1(t.encode("utf-8")).hexdigest()] = np.asarray(v, dtype=np.float32)
        return [self.known[k].tolist() for k in keys]

    def embed_query(self, text: str) -> list[float]:
        """Query vector from the underlying model."""
        return self.base.embed_query(text)


def live_generation(settings: Settings) -> Path | None:
    """Directory of the live generation, or None when nothing has been built."""
    pointer = settings.index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return settings.index_dir / name if name else None


def read_meta(gen_dir: Path) -> IndexMeta:
    """Metadata of a generation; IndexCorrupt when missing or unreadable."""
    try:
        return IndexMeta(**json.loads((gen_dir / META).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as e:
        raise IndexCorrupt(f"索引元数据损坏或缺失（{gen_dir.name}）：{e}") from e


def new_generation(settings: Settings) -> Path:
    """Create an empty directory for a generation being built aside."""
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    # Microseconds in the name: generations sort in the order they were built (the collector keeps the newest by
    # name), even several in one second, which shipped vectors make common.
    now = time.time_ns()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now // 1_000_000_000))
    name = f"g-{stamp}-{now // 1000 % 1_000_000:06d}-{uuid.uuid4().hex[:6]}"
    path = settings.index_dir / name
    path.mkdir()
    return path


def write_chunks(gen_dir: Path, chunks: Iterable[Chunk]) -> None:
    """Write chunk records, one JSON object per line."""
    with open(gen_dir / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")


def read_chunks(gen_dir: Path) -> list[Chunk]:
    """Read a generation's chunk records."""
    with open(gen_dir / "chunks.jsonl", encoding="utf-8") as fh:
        return [Chunk(**json.loads(line)) for line in fh if line.strip()]


def open_vectors(gen_dir: Path, n: int, dim: int) -> np.ndarray:
    """A writable on-disk array for the generation's vectors (kept so the next build re-embeds only changes)."""
    return np.lib.format.open_memmap(gen_dir / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, dim))


def write_vector_keys(gen_dir: Path, keys: Sequence[str]) -> None:
    """Record which chunk each row of vectors.npy belongs to."""
    (gen_dir / "vector_keys.json").write_text(json.dumps(list(keys)), encoding="utf-8")


def read_vector_cache(gen_dir: Path | None, model_id: str) -> dict[str, np.ndarray]:
    """Vectors of a previous generation made by the same model, keyed by chunk_key (its sentences' vectors by
    sentence_key); empty if unusable."""
    if gen_dir is None:
        return {}
    try:
        if read_meta(gen_dir).model_id != model_id:
            return {}
        keys = json.loads((gen_dir / "vector_keys.json").read_text(encoding="utf-8"))
        vectors = np.load(gen_dir / "vectors.npy", mmap_mode="r")
    except (OSError, ValueError, KBIndexError):
        return {}
    if len(keys) != len(vectors):
        return {}
    return {**sentence_vectors.read_sentence_cache(gen_dir), **dict(zip(keys, vectors, strict=True))}


def write_bm25(gen_dir: Path, ids: list[np.ndarray], vocab: dict[str, int], name: str = "bm25") -> None:
    """Build and save a BM25 index (the jieba one, or the bigram one under BIGRAM_DIR) from the chunks' token ids."""
    import bm25s
    from bm25s.tokenization import Tokenized

    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
    retriever.save(str(gen_dir / name), show_progress=False)


def write_meta(gen_dir: Path, meta: IndexMeta) -> None:
    """Write the generation's metadata (last, so a half-built generation has none)."""
    tmp = gen_dir / (META + ".tmp")
    tmp.write_text(json.dumps(asdict(meta), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, gen_dir / META)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_in(settings: Settings, gen_dir: Path) -> None:
    """Make ``gen_dir`` the live generation atomically, then drop generations older than the previous."""
    tmp = settings.index_dir / (CURRENT + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(gen_dir.name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, settings.index_dir / CURRENT)
    _fsync_dir(settings.index_dir)
    collect_garbage(settings)


def collect_garbage(settings: Settings) -> None:
    """Remove abandoned and superseded generations, keeping the live one, the one before it and every
    generation a live reader process holds a lease on (indexing.leases).

    Called by the indexer while it holds the lock, so a generation without metadata is abandoned.
    """
    live = live_generation(settings)
    gens = sorted(p for p in settings.index_dir.glob("g-*") if p.is_dir())
    keep = {live.name} if live else set()
    keep |= leases.leased_generations(settings.index_dir)
    finished = [g for g in gens if (g / META).exists() and (live is None or g.name != live.name)]
    keep.update(g.name for g in finished[-(KEEP_GENERATIONS - 1) :] if KEEP_GENERATIONS > 1)
    for g in gens:
        if g.name not in keep:
            remove_generation(settings, g)


def remove_abandoned(settings: Settings) -> None:
    """Remove generations without metadata other than the live one; call only while holding the index lock.

    With the lock held no other indexer is writing, so such a directory was left by one that was killed.
    """
    live = live_generation(settings)
    for g in sorted(settings.index_dir.glob("g-*")):
        if g.is_dir() and not (g / META).exists() and (live is None or g.name != live.name):
            remove_generation(settings, g)


def remove_generation(settings: Settings, gen_dir: Path) -> None:
    """Delete a generation that failed to build (never the live one)."""
    live = live_generation(settings)
    if live is not None and live.name == gen_dir.name:
        return
    if settings.chroma_url:
        try:
            chroma_client(settings, gen_dir).delete_collection(_collection_name(gen_dir.name))
        except Exception:
            pass
    close_client(gen_dir)
    shutil.rmtree(gen_dir, ignore_errors=True)


@dataclass
class OpenIndex:
    """A loaded generation: chunk records, the jieba and character-bigram BM25 indexes and the vectors.

    Dense search runs over the generation's vectors.npy (memory-mapped, exact cosine) when the index is embedded,
    so a question never imports Chroma; the Chroma store (the same vectors, written by the same build) is opened
    on first use of ``store``, and is what dense search uses in server mode (KB_CHROMA_URL).
    """

    gen_dir: Path
    meta: IndexMeta
    chunks: list[Chunk]
    bm25: object
    row_of: dict[str, int]
    bigrams: object = None  # bm25s.BM25 over char_bigrams
    vectors: np.ndarray | None = None  # (n_chunks, dim) unit vectors; None in server mode
    sentence_vectors: np.ndarray | None = None  # (n_sentences, dim), see indexing.sentence_vectors
    sentence_rows: np.ndarray | None = None  # the chunk row of each sentence
    open_store: Callable[[], object] | None = None
    _store: object = field(default=None, repr=False)
    lexical_only: bool = False  # opened for its BM25 only (made by another model, while a rebuild runs)

    @property
    def store(self):
        """The generation's LangChain Chroma vector store (opened and self-checked on first use)."""
        if self._store is None and self.open_store is not None:
            chroma = self.open_store()
            vector_self_check(self, chroma)
            self._store = chroma
        return self._store

    def bm25_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query's jieba tokens."""
        if not tokens:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def bigram_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query's character bigrams."""
        if not tokens or self.bigrams is None:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bigrams.get_scores(tokens), dtype=np.float32)

    def dense(
        self, query_vector: list[float], k: int, where: dict | None = None, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k chunk rows by cosine similarity to the query vector.

        ``mask`` (rows allowed) filters the local vectors; ``where`` is the same filter in Chroma's syntax.
        """
        if self.lexical_only:
            return []
        if self.vectors is None:
            return self._dense_chroma(query_vector, k, where)
        scores = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        rows = np.arange(len(scores)) if mask is None else np.flatnonzero(mask)
        if len(rows) > k:
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return [(int(r), float(scores[r])) for r in rows]

    def sentence_dense(self, query_vector: list[float], k: int, mask: np.ndarray | None = None
                       ) -> list[tuple[int, float]]:
        """Top-k chunk rows by the cosine of their closest sentence to the query vector; ``mask`` as for `dense`."""
        if self.lexical_only or self.sentence_vectors is None or self.sentence_rows is None:
            return []
        return sentence_vectors.best_rows(self.sentence_vectors, self.sentence_rows,
                                          np.asarray(query_vector, dtype=np.float32), k, mask)

    def _dense_chroma(self, query_vector: list[float], k: int, where: dict | None) -> list[tuple[int, float]]:
        hits = self.store.similarity_search_by_vector_with_relevance_scores(query_vector, k=k, filter=where)
        out: list[tuple[int, float]] = []
        for d, distance in hits:
            row = self.row_of.get(d.metadata.get("chunk_id", ""))
            if row is not None:
                out.append((row, 1.0 - float(distance)))
        return out


def _open_lexical(gen_dir: Path, meta: IndexMeta) -> OpenIndex:
    """A generation's records and BM25 indexes, without its vectors."""
    import bm25s

    try:
        chunks = read_chunks(gen_dir)
        retriever = bm25s.BM25.load(str(gen_dir / "bm25"), show_progress=False)
        bigrams = bm25s.BM25.load(str(gen_dir / BIGRAM_DIR), show_progress=False) if (
            gen_dir / BIGRAM_DIR).is_dir() else None
    except Exception as e:
        raise IndexCorrupt(f"索引无法读取（{type(e).__name__}: {e}），需要重建。") from e
    row_of = {c.chunk_id: i for i, c in enumerate(chunks)}
    return OpenIndex(gen_dir, meta, chunks, retriever, row_of, bigrams, lexical_only=True)


def _check_sqlite(path: Path) -> None:
    """Raise ValueError unless ``path`` starts like an SQLite database (cheap: no Chroma import)."""
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise ValueError(f"{path.parent.name}/{path.name} is not an SQLite database")


def check_files(gen_dir: Path, meta: IndexMeta, checksums: bool) -> None:
    """Compare the generation's files with the sizes (and checksums) in its metadata; IndexCorrupt on a mismatch."""
    if not meta.files:
        raise IndexIncompatible("索引缺少文件校验信息（旧版索引），需要重建。")
    bad = integrity.damaged_files(gen_dir, meta.files, checksums)
    if bad:
        raise IndexCorrupt(integrity.describe(gen_dir.name, bad) + "，需要重建。")


SELF_CHECK_ROWS = 3


def vector_self_check(index: OpenIndex, chroma) -> None:
    """A few stored vectors, queried against Chroma, must find their own chunk first; IndexCorrupt otherwise."""
    n = len(index.chunks)
    if n == 0:
        return
    try:
        vectors = np.load(index.gen_dir / "vectors.npy", mmap_mode="r")
        keys = json.loads((index.gen_dir / "vector_keys.json").read_text(encoding="utf-8"))
        rows = sorted({0, n // 2, n - 1})[:SELF_CHECK_ROWS]
        got = chroma._collection.query(
            query_embeddings=[np.asarray(vectors[r], dtype=np.float32).tolist() for r in rows],
            n_results=1, include=["distances"],
        )
    except Exception as e:
        raise IndexCorrupt(f"向量自检无法完成（{type(e).__name__}: {e}），需要重建。") from e
    for r, ids, dists in zip(rows, got["ids"], got["distances"], strict=True):
        found = index.row_of.get(ids[0]) if ids else None
        if found is None or keys[found] != keys[r] or dists[0] > 1e-3:
            raise IndexCorrupt(f"向量自检失败：片段 {index.chunks[r].chunk_id} 用自身向量检索未排在第一，需要重建。")


def open_index(
    settings: Settings,
    embeddings: Embeddings,
    model_id: str,
    chunker_version: str,
    gen_dir: Path | None = None,
    checksums: bool = False,
    *,
    lexical_only: bool = False,
) -> OpenIndex:
    """Open and check a generation (the live one by default): file sizes always, checksums when ``checksums``;
    raises IndexMissing, IndexCorrupt or IndexIncompatible.

    Chroma's vectors are self-checked where they are searched: at open in server mode, on first use of
    ``OpenIndex.store`` when embedded (embedded questions search vectors.npy, whose checksum is checked).
    ``lexical_only`` opens a generation made by another model or chunker for its records and BM25 indexes only
    (its vectors are never searched): what a question gets while that generation is being rebuilt.
    """
    import bm25s

    gen_dir = gen_dir or live_generation(settings)
    if gen_dir is None:
        raise IndexMissing("尚未建立索引，请先运行 `kb index`。")
    if not gen_dir.is_dir():
        raise IndexCorrupt(f"索引目录 {gen_dir.name} 已丢失。")
    meta = read_meta(gen_dir)
    if lexical_only:
        return _open_lexical(gen_dir, meta)
    if meta.model_id != model_id or meta.chunker_version != chunker_version:
        raise IndexIncompatible(
            f"索引由 {meta.model_id}/{meta.chunker_version} 建立，当前为 {model_id}/{chunker_version}，需要重建。"
        )
    if meta.bm25 != BM25_PARAMS:
        raise IndexIncompatible(f"索引的 BM25 参数 {meta.bm25 or '（旧版默认）'} 与当前 {BM25_PARAMS} 不同，需要重建。")
    if not (gen_dir / BIGRAM_DIR).is_dir():
        raise IndexIncompatible("索引缺少字符二元组 BM25（旧版索引），需要重建。")
    if not (gen_dir / sentence_vectors.VECTORS).is_file():
        raise IndexIncompatible("索引缺少句向量（旧版索引），需要重建。")
    check_files(gen_dir, meta, checksums)
    vectors = None
    try:
        chunks = read_chunks(gen_dir)
        retriever = bm25s.BM25.load(str(gen_dir / "bm25"), show_progress=False)
        bigrams = bm25s.BM25.load(str(gen_dir / BIGRAM_DIR), show_progress=False)
        if settings.chroma_url:
            store = vectorstore(settings, gen_dir, embeddings)
            count = store._collection.count()
        else:
            # Chroma is opened only when used; its database must be there and look like one (a build writes it
            # beside the vectors, so damage to it means the generation must be rebuilt).
            _check_sqlite(gen_dir / "chroma" / "chroma.sqlite3")
            store = None
            vectors = np.load(gen_dir / "vectors.npy", mmap_mode="r")
            count = len(vectors) if vectors.ndim == 2 and vectors.shape[1] == meta.dimension else -1
        sentences, sentence_rows = sentence_vectors.open_sentence_vectors(gen_dir, len(chunks), meta.dimension)
    except Exception as e:
        raise IndexCorrupt(f"索引无法读取（{type(e).__name__}: {e}），需要重建。") from e
    if len(chunks) != meta.n_chunks or count != meta.n_chunks:
        raise IndexCorrupt(f"索引不完整：记录 {len(chunks)}、向量 {count}、应为 {meta.n_chunks}，需要重建。")
    index = OpenIndex(
        gen_dir, meta, chunks, retriever, {c.chunk_id: i for i, c in enumerate(chunks)}, bigrams, vectors,
        sentences, sentence_rows, open_store=lambda: vectorstore(settings, gen_dir, embeddings), _store=store,
    )
    if store is not None:
        vector_self_check(index, store)
    return index
