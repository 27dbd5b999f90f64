"""Sentence vectors: every sentence of every chunk embedded on its own, searched to find the chunk it belongs to.

A chunk's vector averages all it says; a penalty article that lists ten offences matches a question about one of
them only weakly. Each sentence's own vector lets a short everyday question ("拉渣土的车不盖篷布") meet the one
clause that answers it, and the clause's chunk is retrieved (the small-to-big pattern of LangChain's
MultiVectorRetriever). On the user-voice sets this took the evidence Recall@8 from 0.876 to 0.912 (train) and
0.884 to 0.902 (dev); eval/uservoice_notes.md, round 3.

A generation holds the sentences in three files beside vectors.npy: ``sentence_vectors.npy`` (one unit vector per
sentence occurrence), ``sentence_keys.json`` (the hash of each sentence's text, the key of the vector cache) and
``sentence_rows.npy`` (the chunk row each occurrence belongs to). They stay on the local disk in server mode too,
like the BM25 indexes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.tokenize import split_sentences
from indexing.types import Chunk

VECTORS = "sentence_vectors.npy"
KEYS = "sentence_keys.json"
ROWS = "sentence_rows.npy"
FILES = (VECTORS, KEYS, ROWS)
MIN_CHARS = 6  # shorter pieces (a heading number, "第三条") say nothing on their own
BATCH = 256


@dataclass(frozen=True)
class SentenceUnits:
    """The sentences of a list of chunks: their texts, cache keys and owning chunk rows, in chunk order."""

    texts: list[str]
    keys: list[str]
    rows: np.ndarray  # int32, the chunk row of each sentence


def sentence_key(text: str) -> str:
    """Cache key of a sentence's vector: the hash of exactly what is embedded (as `store.chunk_key` for chunks)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def sentence_units(chunks: Sequence[Chunk]) -> SentenceUnits:
    """Every sentence of at least MIN_CHARS characters of each chunk's text, with its key and chunk row."""
    texts: list[str] = []
    rows: list[int] = []
    for row, chunk in enumerate(chunks):
        for start, end in split_sentences(chunk.text):
            if end - start >= MIN_CHARS:
                texts.append(chunk.text[start:end])
                rows.append(row)
    return SentenceUnits(texts, [sentence_key(t) for t in texts], np.asarray(rows, dtype=np.int32))


def embed_sentences(gen_dir: Path, units: SentenceUnits, known: dict[str, np.ndarray], embeddings,
                    progress: Callable[[str, int, int], None]) -> tuple[int, float]:
    """Embed the sentences whose vectors are not ``known`` (each distinct text once) and write the three files;
    returns how many were embedded and the seconds spent in the model."""
    missing = list(dict.fromkeys(k for k in units.keys if k not in known))
    text_of = dict(zip(units.keys, units.texts, strict=True))
    fresh: dict[str, np.ndarray] = {}
    seconds = 0.0
    progress("句向量", 0, len(missing))
    for s in range(0, len(missing), BATCH):
        batch = missing[s : s + BATCH]
        t0 = time.perf_counter()
        got = embeddings.embed_documents([text_of[k] for k in batch])
        seconds += time.perf_counter() - t0
        fresh.update((k, np.asarray(v, dtype=np.float32)) for k, v in zip(batch, got, strict=True))
        progress("句向量", min(s + BATCH, len(missing)), len(missing))
    vectors = [fresh.get(k, known.get(k)) for k in units.keys]
    dim = len(vectors[0]) if vectors else 0
    np.save(gen_dir / VECTORS, np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32))
    np.save(gen_dir / ROWS, units.rows)
    (gen_dir / KEYS).write_text(json.dumps(units.keys), encoding="utf-8")
    return len(missing), seconds


def read_sentence_cache(gen_dir: Path) -> dict[str, np.ndarray]:
    """A generation's sentence vectors keyed by sentence_key; empty when it has none or they do not match."""
    try:
        keys = json.loads((gen_dir / KEYS).read_text(encoding="utf-8"))
        vectors = np.load(gen_dir / VECTORS, mmap_mode="r")
    except (OSError, ValueError):
        return {}
    if len(keys) != len(vectors):
        return {}
    return dict(zip(keys, vectors, strict=True))


def open_sentence_vectors(gen_dir: Path, n_chunks: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The sentence vectors (memory-mapped) and their chunk rows; ValueError when they do not fit the chunks."""
    vectors = np.load(gen_dir / VECTORS, mmap_mode="r")
    rows = np.load(gen_dir / ROWS)
    if len(vectors) != len(rows) or (len(vectors) and vectors.shape[1] != dim):
        raise ValueError(f"{VECTORS} has shape {vectors.shape} for {len(rows)} rows of dimension {dim}")
    if len(rows) and (rows.min() < 0 or rows.max() >= n_chunks):
        raise ValueError(f"{ROWS} points outside the {n_chunks} chunks")
    return vectors, rows


def best_rows(vectors: np.ndarray, rows: np.ndarray, query_vector: np.ndarray, k: int,
              mask: np.ndarray | None = None, pool: int = 300) -> list[tuple[int, float]]:
    """The k chunk rows whose best sentence is closest to the query, with that cosine, best first.

    Only the ``pool`` closest sentences are looked at (k chunks need far fewer); ``mask`` (chunk rows allowed)
    filters them first.
    """
    if not len(vectors):
        return []
    scores = vectors @ query_vector
    candidates = np.arange(len(scores)) if mask is None else np.flatnonzero(mask[rows])
    if len(candidates) > pool:
        candidates = candidates[np.argpartition(-scores[candidates], pool - 1)[:pool]]
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
    best: dict[int, float] = {}
    for i in candidates:
        best.setdefault(int(rows[i]), float(scores[i]))
        if len(best) == k:
            break
    return list(best.items())
