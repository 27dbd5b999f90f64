"""Baselines and ablations that `kb eval` measures against our pipeline, on the same corpus and questions.

Baselines (typical Chinese RAG set-ups, built here from the same loaded and normalised documents):

* (a) ``lc-dense``: LangChain ``RecursiveCharacterTextSplitter`` 500/50 + dense retrieval only, with the same
  embedding model, through ``langchain_chroma.Chroma``; the raw question is embedded.
* (b) ``jieba-bm25``: BM25 over plain ``jieba.lcut_for_search`` tokens (jieba's own dictionary, punctuation
  dropped, no stop words, no query normalisation) over *our* chunks' text.
* (c) ``chatchat-rrf``: a Chatchat-style Chinese recursive splitter 750/150 (separators ``\\n\\n``, ``\\n``,
  ``。|！|？``, ``；``, ``，`` kept at the end of pieces) + equal-weight RRF (k=60) of dense and plain jieba BM25.

Ablations of ours (everything else as in production: query normalisation, register, composer):

* ``no-structure``: plain sentence packing over the whole document text (same budget and overlap), no section
  paths in the chunks (the embedded text is title + body);
* ``no-userdict``: BM25 tokens (index and query) from a jieba without our domain user dictionary;
* ``no-bigram``: the hybrid without the character-bigram BM25 (jieba BM25 + dense at 0.7/0.3, the fusion before it);
* ``dense-only``, ``bm25-only`` and ``bigram-only``: one retriever of our hybrid alone.

Vectors of chunks that are not in the live index are embedded once with the real model and kept in a
:class:`VectorCache` under ``<data dir>/eval-cache``, keyed by the SHA-1 of the embedded text, so reruns are cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from indexing.chunker import JiebaChunker
from indexing.tokenize import STOPWORDS, to_halfwidth
from indexing.types import Chunk, Document, Section

log = logging.getLogger(__name__)
Hits = list[tuple[Chunk, float]]
CACHE_DIR = "eval-cache"
EMBED_BLOCK = 64  # passages embedded (and saved) per cache shard
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
CHATCHAT_SEPARATORS = ["\n\n", "\n", "。|！|？", "；", "，"]


def text_key(text: str) -> str:
    """Cache key of an embedded text (the same hash the index uses for its own vector cache)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Vector cache


class VectorCache:
    """Passage vectors of one model on disk, keyed by text hash, with the seconds it took to embed them.

    Layout: ``root/<model slug>/shard-*.npz`` (keys + vectors) and ``shard-*.json`` (tag, count, chars,
    seconds). Shards are written whole (temp file, then rename), so an interrupted run keeps what it finished.
    """

    def __init__(self, root: Path, model_id: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:80] + "-" + hashlib.sha1(model_id.encode()).hexdigest()[:8]
        self.dir = root / slug
        self.dir.mkdir(parents=True, exist_ok=True)
        self.vectors: dict[str, np.ndarray] = {}
        self.shards: list[dict] = []
        self._lock = threading.Lock()
        for npz in sorted(self.dir.glob("shard-*.npz")):
            try:
                with np.load(npz) as data:
                    keys, vecs = data["keys"], data["vectors"]
                info = json.loads(npz.with_suffix(".json").read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError) as e:
                log.warning("skipping unreadable cache shard %s: %s", npz.name, e)
                continue
            for k, v in zip(keys.tolist(), vecs, strict=True):
                self.vectors[str(k)] = v
            info["keys"] = {str(k) for k in keys.tolist()}
            self.shards.append(info)

    def __contains__(self, key: str) -> bool:
        return key in self.vectors

    def add(self, keys: Sequence[str], vectors: np.ndarray, info: dict | None = None) -> None:
        """Keep vectors in memory and write them as one shard."""
        vectors = np.asarray(vectors, dtype=np.float32)
        name = f"shard-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        tmp = self.dir / f".{name}.npz"
        np.savez(tmp, keys=np.array(list(keys)), vectors=vectors)
        meta = {"count": len(keys), **(info or {})}
        (self.dir / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.dir / f"{name}.npz")
        with self._lock:
            for k, v in zip(keys, vectors, strict=True):
                self.vectors[k] = v
            self.shards.append({**meta, "keys": set(keys)})

    def embed(self, texts: Sequence[str], model: Embeddings, tag: str, progress: Callable[[str], None] | None = None
              ) -> np.ndarray:
        """Vectors of passages, embedding (in shards of EMBED_BLOCK) only those not cached yet."""
        keys = [text_key(t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        if todo:
            by_key = dict(zip(keys, texts, strict=True))
            started = time.perf_counter()
            for s in range(0, len(todo), EMBED_BLOCK):
                block = todo[s : s + EMBED_BLOCK]
                block_texts = [by_key[k] for k in block]
                t0 = time.perf_counter()
                vecs = np.asarray(model.embed_documents(block_texts), dtype=np.float32)
                self.add(block, vecs, {"tag": tag, "chars": sum(len(t) for t in block_texts),
                                       "seconds": time.perf_counter() - t0, "date": time.strftime("%Y-%m-%d")})
                if progress:
                    done = min(s + EMBED_BLOCK, len(todo))
                    rate = done / max(time.perf_counter() - started, 1e-9)
                    progress(f"  embedding {tag}: {done}/{len(todo)} ({rate:.1f} passages/s)")
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)

    def embed_seconds(self, texts: Sequence[str]) -> tuple[float, bool]:
        """Seconds it took to embed these passages when they were first embedded, and whether every one was
        measured (passages seeded from the index or shared with another set are extrapolated by chars)."""
        keys = {text_key(t) for t in texts}
        chars = {text_key(t): len(t) for t in texts}
        seconds, measured = 0.0, set()
        rate_num = rate_den = 0.0
        for sh in self.shards:
            if "seconds" not in sh or not sh.get("chars"):
                continue
            rate_num += sh["seconds"]
            rate_den += sh["chars"]
            if sh["keys"] <= keys:  # a shard wholly of this set
                seconds += sh["seconds"]
                measured |= sh["keys"]
        missing = keys - measured
        if missing and rate_den:
            seconds += rate_num / rate_den * sum(chars[k] for k in missing)
        return seconds, not missing


class CachedEmbeddings(Embeddings):
    """LangChain Embeddings serving passage vectors from a VectorCache (embedding what is missing with the real
    model, under ``tag``) and query vectors from the real model."""

    def __init__(self, base, cache: VectorCache, tag: str = "misc") -> None:
        self.base = base
        self.cache = cache
        self.tag = tag

    @property
    def model_id(self) -> str:
        """The real model's id (vectors are the real model's)."""
        return self.base.model_id

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passage vectors, from the cache where possible."""
        return self.cache.embed(texts, self.base, self.tag).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Query vector from the real model."""
        return self.base.embed_query(text)


# ---------------------------------------------------------------------------------------------------------------
# Tokenisers


@cache
def _plain_jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()  # jieba's own dictionary only: no domain user dictionary
    tok.initialize()
    return tok


_plain_lock = threading.Lock()


def plain_jieba_cut(text: str) -> list[str]:
    """Baseline tokens: ``jieba.lcut_for_search`` with jieba's own dictionary; punctuation and spaces dropped."""
    with _plain_lock:
        words = _plain_jieba().lcut_for_search(text)
    return [w for w in words if _WORD.search(w)]


def no_userdict_cut(text: str) -> list[str]:
    """Our retrieval tokens (``indexing.tokenize.cut``: width folding, lower case, stop words) without the
    domain user dictionary."""
    with _plain_lock:
        words = _plain_jieba().lcut_for_search(to_halfwidth(text).lower(), HMM=True)
    return [w for w in words if _WORD.search(w) and w not in STOPWORDS]


# ---------------------------------------------------------------------------------------------------------------
# Chunkers


def _chunk(doc: Document, a: int, b: int, n: int, embed_text: str | None = None) -> Chunk:
    body = doc.text[a:b]
    return Chunk(chunk_id=f"{doc.doc_id}#{a}-{b}#{n}", doc_id=doc.doc_id, title=doc.title, kind=doc.kind,
                 section="", start=a, end=b, text=body, embed_text=body if embed_text is None else embed_text,
                 page=doc.page_at(a))


def _located(doc: Document, pieces: list, n0: int = 0) -> list[Chunk]:
    """Chunks from LangChain Documents carrying ``start_index`` into ``doc.text``."""
    out = []
    for n, p in enumerate(pieces, n0):
        a = int(p.metadata.get("start_index", -1))
        if a < 0 or doc.text[a : a + len(p.page_content)] != p.page_content:
            a = max(doc.text.find(p.page_content), 0)
        out.append(_chunk(doc, a, a + len(p.page_content), n))
    return out


def langchain_chunks(docs: Sequence[tuple[Document, list[Section]]], size: int = 500, overlap: int = 50
                     ) -> list[Chunk]:
    """Baseline (a): LangChain's RecursiveCharacterTextSplitter with its default separators."""
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, add_start_index=True)
    out: list[Chunk] = []
    for doc, _ in docs:
        out += _located(doc, splitter.split_documents([LCDocument(page_content=doc.text)]))
    return out


def chatchat_chunks(docs: Sequence[tuple[Document, list[Section]]], size: int = 750, overlap: int = 150
                    ) -> list[Chunk]:
    """Baseline (c): a Chatchat-style Chinese recursive splitter (regex separators kept at the piece end)."""
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        separators=CHATCHAT_SEPARATORS, is_separator_regex=True, keep_separator="end",
        chunk_size=size, chunk_overlap=overlap, add_start_index=True, strip_whitespace=True,
    )
    out: list[Chunk] = []
    for doc, _ in docs:
        out += _located(doc, splitter.split_documents([LCDocument(page_content=doc.text)]))
    return out


class PlainChunker(JiebaChunker):
    """Ablation: the same sentence packing and budget as ours, over the whole text, ignoring headings.

    Chunks carry no section path; the embedded text is the document title and the body.
    """

    @property
    def version(self) -> str:
        """Distinct from the structured chunker's, so its index is never mistaken for the production one."""
        return f"plain-sent-1-b{self.budget}-o{self.overlap_sentences}"

    def split_document(self, doc: Document, sections: list[Section] | None = None) -> list[Chunk]:
        """Sentence-whole chunks of the whole document with no section paths."""
        units = self._units(doc.text, 0, len(doc.text), table=False)
        return [self._make_chunk(doc, None, a, b, "") for a, b in self._pack(doc.text, units, self.overlap_sentences)]


# ---------------------------------------------------------------------------------------------------------------
# Retrievers over chunk lists


class BM25Ranker:
    """bm25s over a tokenisation of chunk texts."""

    def __init__(self, chunks: Sequence[Chunk], tokenize: Callable[[str], list[str]], use_embed_text: bool = False
                 ) -> None:
        import bm25s

        self.chunks = list(chunks)
        self.tokenize = tokenize
        self.bm25 = bm25s.BM25()
        self.bm25.index([tokenize(c.embed_text if use_embed_text else c.text) for c in self.chunks],
                        show_progress=False)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for query tokens (the same interface as the index's bm25)."""
        if not tokens:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        """Alias used by ``OpenIndex.bm25_scores``."""
        return self.scores(tokens)

    def rank(self, question: str, depth: int) -> list[tuple[int, float]]:
        """Rows with scores, best first, zero scores dropped."""
        s = self.scores(self.tokenize(question))
        top = np.argsort(-s, kind="stable")[:depth]
        return [(int(i), float(s[i])) for i in top if s[i] > 0]


@cache
def _ephemeral_client():
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))


class ChromaRanker:
    """A LangChain Chroma vector store (in memory) over chunks, vectors from the cache."""

    def __init__(self, chunks: Sequence[Chunk], embeddings: CachedEmbeddings, name: str) -> None:
        from langchain_chroma import Chroma

        self.chunks = list(chunks)
        self.row_of = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self.embeddings = embeddings
        self.store = Chroma(collection_name=f"eval-{name}-{uuid.uuid4().hex[:8]}", embedding_function=embeddings,
                            client=_ephemeral_client(), collection_metadata={"hnsw:space": "cosine"})
        for s in range(0, len(self.chunks), 1000):
            part = self.chunks[s : s + 1000]
            self.store.add_texts(texts=[c.embed_text for c in part], metadatas=[{"chunk_id": c.chunk_id} for c in part],
                                 ids=[c.chunk_id for c in part])

    def rank(self, question: str, depth: int) -> list[tuple[int, float]]:
        """Rows with cosine similarity, best first (LangChain's similarity search with scores)."""
        hits = self.store.similarity_search_with_score(question, k=depth)
        return [(self.row_of[d.metadata["chunk_id"]], 1.0 - float(dist)) for d, dist in hits]

    def close(self) -> None:
        """Drop the in-memory collection."""
        try:
            self.store.delete_collection()
        except Exception:  # pragma: no cover - best effort
            pass


@dataclass
class Baseline:
    """A baseline retrieval pipeline: ranks chunks for a raw question."""

    name: str
    label: str
    chunks: list[Chunk]
    bm25: BM25Ranker | None = None
    dense: ChromaRanker | None = None
    rrf_k: int = 60
    depth: int = 50
    build_seconds: dict[str, float] = field(default_factory=dict)

    def search(self, question: str, k: int = 10) -> Hits:
        """Top-k chunks: dense only, BM25 only, or equal-weight RRF of both."""
        lists = []
        if self.bm25 is not None:
            lists.append([r for r, _ in self.bm25.rank(question, self.depth)])
        if self.dense is not None:
            lists.append([r for r, _ in self.dense.rank(question, self.depth)])
        fused: dict[int, float] = {}
        for rows in lists:
            for rank, row in enumerate(rows):
                fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        if len(lists) == 1:  # a single retriever: keep its own scores' order
            rows = lists[0]
            return [(self.chunks[r], fused[r]) for r in rows[:k]]
        best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        return [(self.chunks[r], s) for r, s in best]

    def close(self) -> None:
        """Release the in-memory vector store."""
        if self.dense is not None:
            self.dense.close()


def build_baseline(name: str, docs: Sequence[tuple[Document, list[Section]]], our_chunks: Sequence[Chunk],
                   embeddings: CachedEmbeddings | None, progress: Callable[[str], None] | None = None) -> Baseline:
    """Build baseline ``lc-dense`` (a), ``jieba-bm25`` (b) or ``chatchat-rrf`` (c), timing each stage."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    if name == "lc-dense":
        chunks, label = langchain_chunks(docs), "(a) LangChain 500/50 + dense"
    elif name == "jieba-bm25":
        chunks, label = list(our_chunks), "(b) BM25 (plain jieba) on our chunks"
    elif name == "chatchat-rrf":
        chunks, label = chatchat_chunks(docs), "(c) Chatchat 750/150 + RRF 0.5/0.5"
    else:
        raise ValueError(f"unknown baseline: {name}")
    t["split"] = time.perf_counter() - t0
    bm25 = dense = None
    if name in ("jieba-bm25", "chatchat-rrf"):
        t0 = time.perf_counter()
        bm25 = BM25Ranker(chunks, plain_jieba_cut)
        t["bm25"] = time.perf_counter() - t0
    if name in ("lc-dense", "chatchat-rrf"):
        if embeddings is None:
            raise ValueError(f"baseline {name} needs embeddings")
        tagged = CachedEmbeddings(embeddings.base, embeddings.cache, tag=name)
        texts = [c.embed_text for c in chunks]
        t0 = time.perf_counter()
        tagged.cache.embed(texts, tagged.base, name, progress)
        t["embed (this run)"] = time.perf_counter() - t0
        t["embed"], _ = tagged.cache.embed_seconds(texts)
        t0 = time.perf_counter()
        dense = ChromaRanker(chunks, tagged, name)
        t["chroma"] = time.perf_counter() - t0
    return Baseline(name=name, label=label, chunks=list(chunks), bm25=bm25, dense=dense, build_seconds=t)
