"""Integrity of a generation's files: sizes and SHA-256 recorded in meta.json at build time, checked at open.

Sizes are checked on every open (a few stats); checksums on `kb index` and when a process starts. Chroma
rewrites some of its files when a client opens the collection (``length.bin`` carries uninitialised bytes,
``chroma.sqlite3`` its bookkeeping, ``data_level0.bin`` its HNSW graph), so those are checked by size, and the
database by SQLite's own ``quick_check``; the vectors in Chroma are checked by querying a few of them
(``store.vector_self_check``), and vectors.npy, which embedded questions search, by its checksum.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

# Rewritten by Chroma when a client opens the collection: size only. data_level0.bin (the HNSW graph) is also
# rewritten on some opens after the build has settled it; embedded questions search vectors.npy (checksummed), and
# Chroma's vectors are self-checked by query wherever Chroma is used.
VOLATILE = ("length.bin", "chroma.sqlite3", "data_level0.bin")
SKIP = ("meta.json", "meta.json.tmp")
# The files the vector cache of the next incremental build is read from.
VECTOR_FILES = ("vectors.npy", "vector_keys.json", "sentence_vectors.npy", "sentence_keys.json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_manifest(gen_dir: Path) -> dict[str, list]:
    """``{relative path: [size, sha256]}`` of every file of a generation except its metadata."""
    out: dict[str, list] = {}
    for path in sorted(p for p in gen_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(gen_dir).as_posix()
        if rel in SKIP or path.name.endswith(".tmp"):
            continue
        out[rel] = [path.stat().st_size, _sha256(path)]
    return out


def damaged_files(gen_dir: Path, files: dict[str, list], checksums: bool) -> dict[str, str]:
    """Files that are missing, of the wrong size or (with ``checksums``) the wrong content: ``{path: reason}``."""
    bad: dict[str, str] = {}
    for rel, (size, digest) in files.items():
        path = gen_dir / rel
        try:
            actual = path.stat().st_size
        except OSError:
            bad[rel] = "缺失"
            continue
        if actual != size:
            bad[rel] = f"大小 {actual} 字节，应为 {size}"
        elif checksums and path.name not in VOLATILE and _sha256(path) != digest:
            bad[rel] = "校验和不符"
        elif checksums and path.name == "chroma.sqlite3" and not _sqlite_ok(path):
            bad[rel] = "数据库校验失败"
    return bad


def _sqlite_ok(path: Path) -> bool:
    """SQLite's quick_check on a read-only connection."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            con.close()
    except sqlite3.Error:
        return False


def describe(gen_name: str, bad: dict[str, str], limit: int = 4) -> str:
    """A Chinese message naming the damaged files of a generation."""
    items = list(bad.items())
    listed = "；".join(f"{rel}（{why}）" for rel, why in items[:limit])
    more = f" 等 {len(items)} 个文件" if len(items) > limit else ""
    return f"索引文件损坏（{gen_name}）：{listed}{more}"


def vectors_intact(bad: Iterable[str]) -> bool:
    """Whether the files the vector cache is read from are among the damaged ones."""
    return not any(rel in VECTOR_FILES for rel in bad)
