"""Admin uploads: check a file, give it a safe name, copy it into the corpus folder, and check that it loads."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from kb.service import KnowledgeBase, UnreadableDocument

ALLOWED_UPLOADS = KnowledgeBase.document_suffixes()
UPLOAD_SUBDIR = "uploads"


class UploadRejected(ValueError):
    """An uploaded file that may not enter the corpus; the message is Chinese and shown to the admin."""


_UNSAFE_CHARS = re.compile(r"[^\w\-]+")


def safe_upload_name(name: str) -> str:
    """A safe file name for an upload: the last path component, NFKC, only word characters and '-'.

    "../../etc/passwd.md" -> "passwd.md"; "<script>报告.md" -> "script_报告.md". Raises UploadRejected for a
    type other than txt, md or pdf.
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    dot = base.rfind(".")
    stem, ext = (base[:dot], base[dot:].lower()) if dot >= 0 else (base, "")
    if ext not in ALLOWED_UPLOADS:
        raise UploadRejected(f"不支持的文件类型“{ext or '无扩展名'}”，只接受 txt、md、pdf。")
    stem = _UNSAFE_CHARS.sub("_", stem).strip("._-")[:80] or "upload"
    return stem + ext


def check_upload(path: Path, max_mb: int) -> None:
    """Reject an empty, oversized, or mislabelled file (a PDF must look like one; text must not be binary)."""
    size = path.stat().st_size
    if size == 0:
        raise UploadRejected("文件为空。")
    if size > max_mb * 1024 * 1024:
        raise UploadRejected(f"文件过大（{size / 1024 / 1024:.1f} MB），上限为 {max_mb} MB。")
    with path.open("rb") as fh:
        head = fh.read(8192)
    if path.suffix.lower() == ".pdf":
        if not head.startswith(b"%PDF-"):
            raise UploadRejected("文件扩展名为 .pdf，但内容不是 PDF。")
    elif b"\x00" in head:
        raise UploadRejected("文件扩展名为文本，但内容是二进制数据。")


def save_upload(src: Path, original_name: str, corpus_dir: Path, max_mb: int) -> Path:
    """Check an upload and copy it into ``corpus_dir/uploads`` under a sanitised, unused name."""
    name = safe_upload_name(original_name)
    check_upload(src, max_mb)
    folder = (corpus_dir / UPLOAD_SUBDIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stem, ext = os.path.splitext(name)
    target = folder / name
    n = 2
    while target.exists():
        target = folder / f"{stem}-{n}{ext}"
        n += 1
    if not target.resolve().is_relative_to(corpus_dir.resolve()):  # defence in depth; cannot happen
        raise UploadRejected("文件名不安全。")
    tmp = folder / f".{uuid.uuid4().hex}.part"
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target



def validate_document(path: Path, kb: Any) -> str:
    """Load a saved upload as the indexer will (through the service); returns its title or raises UploadRejected."""
    try:
        doc = kb.read_document(path)
    except UnreadableDocument as e:
        raise UploadRejected(str(e)) from e
    if not doc.text.strip():
        raise UploadRejected("文件中没有可提取的文字。")
    return doc.title
