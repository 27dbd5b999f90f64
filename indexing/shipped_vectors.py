"""Vectors of the shipped corpus, made by the default model and shipped with it (corpus/vectors.npz).

The default engine is deterministic (a chunk's vector does not depend on the batch it is embedded in), so the
vectors of the shipped corpus are data like the corpus itself: its chunks' and its sentences' vectors
(indexing.sentence_vectors). A build takes a vector from here when the file's model id is the build's and the key
(the hash of exactly what is embedded) is in it; every other chunk and sentence is embedded as usual.
A changed chunker, model or text therefore only misses, it never mixes vectors.
``KB_SHIPPED_VECTORS=0`` turns this off (a truly cold build).

Regenerate after changing the corpus, the chunker or the model: ``python -m indexing.shipped_vectors``.
"""

from __future__ import annotations

import functools
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from indexing.config import DEFAULT_MODEL, PACKAGE_CORPUS

PATH = PACKAGE_CORPUS / "vectors.npz"


@functools.cache
def _read(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            model_id = str(z["model_id"])
            keys = [str(k) for k in z["keys"]]
            vectors = np.asarray(z["vectors"], dtype=np.float32)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return "", {}
    if vectors.ndim != 2 or len(keys) != len(vectors) or not np.isfinite(vectors).all():
        return "", {}
    return model_id, dict(zip(keys, vectors, strict=True))


def shipped_vectors(model_id: str, path: Path = PATH) -> dict[str, np.ndarray]:
    """The shipped vectors keyed by chunk key, or {} when the file is missing, damaged or of another model."""
    shipped_id, vectors = _read(path)
    return vectors if shipped_id == model_id else {}


def write_shipped_vectors(gen_dir: Path, path: Path = PATH) -> int:
    """Write a built generation's vectors, keys and model id as the shipped vectors; returns how many."""
    from indexing.store import read_meta, read_vector_cache

    model_id = read_meta(gen_dir).model_id
    known = read_vector_cache(gen_dir, model_id)
    keys = sorted(known)  # stable bytes for an unchanged corpus
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, model_id=np.array(model_id), keys=np.array(keys),
                        vectors=np.stack([known[k] for k in keys]).astype(np.float32))
    tmp.replace(path)
    _read.cache_clear()
    return len(keys)


def main() -> int:
    """Build the shipped corpus with the default model in a scratch folder and ship its vectors."""
    from indexing.build import build_index
    from indexing.config import Settings
    from indexing.store import live_generation

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), corpus_dir=PACKAGE_CORPUS, embedding_model=DEFAULT_MODEL)
        report = build_index(settings, progress=lambda stage, done, total: None)
        n = write_shipped_vectors(live_generation(settings))
    print(f"{PATH}: {n} vectors ({report.embedded} newly embedded, {report.reused} kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
