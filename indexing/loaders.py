"""Turn corpus files (.txt, .md, .pdf) into normalised Documents, or fail with a clear LoadError."""

from __future__ import annotations

import bisect
import hashlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

from indexing.config import get_settings
from indexing.manifest import ManifestEntry, guess_entry, read_manifest
from indexing.normalize import find_doc_number, law_header, normalize
from indexing.types import Document

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".pdf")
NO_TEXT_LAYER = "该 PDF 没有文本层（可能是扫描件），无法索引"
_PROVISIONAL_KIND = {"md": "law", "pdf": "list", "txt": "plan"}


class LoadError(Exception):
    """A file that cannot become a Document; ``reason`` is a Chinese message fit to show users."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{Path(path).name}：{reason}")
        self.path = str(path)
        self.reason = reason


def load_document(path: Path, corpus_dir: Path, entry: ManifestEntry | None = None, *,
                  max_bytes: int | None = None) -> Document:
    """Load and normalise one file; ``entry`` is its manifest line (None: guess metadata and warn).

    ``max_bytes`` caps the file size (default: KB_MAX_UPLOAD_MB from the settings).
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if f".{fmt}" not in SUFFIXES:
        raise LoadError(path, f"不支持的文件类型 {path.suffix or '(无扩展名)'}，只支持 .txt、.md、.pdf")
    limit = max_bytes if max_bytes is not None else get_settings().max_upload_mb * 1024 * 1024
    try:
        size = path.stat().st_size
        if size > limit:
            raise LoadError(path, f"文件过大（{size / 1048576:.1f} MB），超过上限 {limit / 1048576:.1f} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(path, f"无法读取文件：{exc.strerror or exc}") from exc
    if not data.strip():
        raise LoadError(path, "文件为空")

    raw_page_starts: list[int] = []
    if fmt == "pdf":
        pages = _pdf_pages(path, data)
        raw = "\n\n".join(pages)
        at = 0
        for page in pages[:-1]:
            at += len(page) + 2
            raw_page_starts.append(at)
    else:
        raw = _decode(path, data)

    rel = _relative(path, corpus_dir)
    header_title, history = law_header(raw) if fmt == "md" else ("", [])
    kind = entry.kind if entry else _PROVISIONAL_KIND[fmt]
    text, offsets = normalize(raw, kind, fmt, raw_page_starts)
    if entry is None:
        entry = guess_entry(rel, header_title or _first_heading(raw, fmt) or text.split("\n", 1)[0], text)
        log.warning("%s 在 MANIFEST.tsv 中没有条目：doc_id=%s，标题“%s”，类型 %s（由内容推断）",
                    rel, entry.doc_id, entry.title, entry.kind)
        if (entry.kind == "plan") != (kind == "plan"):
            text, offsets = normalize(raw, entry.kind, fmt, raw_page_starts)
    if not text.strip():
        raise LoadError(path, NO_TEXT_LAYER if fmt == "pdf" else "文件没有可索引的文字内容")

    meta = entry.meta()
    if history:
        meta["history"] = "\n".join(history)
    if "doc_number" not in meta and (number := find_doc_number(raw)):
        meta["doc_number"] = number
    if fmt == "pdf":
        meta["pages"] = str(len(raw_page_starts) + 1)
    return Document(
        doc_id=entry.doc_id,
        title=entry.title,
        kind=entry.kind,
        path=rel,
        raw=raw,
        text=text,
        offsets=offsets,
        sha256=hashlib.sha256(data).hexdigest(),
        page_starts=[bisect.bisect_left(offsets, r) for r in raw_page_starts],
        meta=meta,
    )


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every .txt/.md/.pdf file under corpus_dir (hidden ones skipped), in path order."""
    corpus_dir = Path(corpus_dir)
    return sorted(
        (p for p in corpus_dir.rglob("*")
         if p.is_file() and p.suffix.lower() in SUFFIXES
         and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)),
        key=lambda p: p.relative_to(corpus_dir).as_posix(),
    )


def iter_corpus(corpus_dir: Path, *, strict: bool = False) -> Iterator[Document]:
    """Yield every .txt/.md/.pdf document under corpus_dir in path order.

    A file that fails to load is logged and skipped, or raised when ``strict``.
    """
    manifest = read_manifest(Path(corpus_dir))
    for path in corpus_files(corpus_dir):
        try:
            yield load_document(path, corpus_dir, manifest.get(_relative(path, corpus_dir)))
        except LoadError as exc:
            if strict:
                raise
            log.warning("跳过 %s", exc)


def _relative(path: Path, corpus_dir: Path) -> str:
    try:
        return path.resolve().relative_to(Path(corpus_dir).resolve()).as_posix()
    except ValueError:
        return path.name


def _first_heading(raw: str, fmt: str) -> str:
    """The first markdown heading of a .md file (its title), else ""."""
    if fmt == "md":
        for line in raw.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return ""


def _decode(path: Path, data: bytes) -> str:
    """Decode text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030/GBK and other guesses."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError(path, "文本编码无法识别（UTF-16 内容损坏）") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    sample = data[:8192]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) // 100:
        raise LoadError(path, "这是二进制文件（不是文本），无法作为文本读取；请检查文件类型或扩展名")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    for encoding in dict.fromkeys([best.encoding if best else "", "gb18030"]):
        if not encoding:
            continue
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_like_text(text):
            return text
    raise LoadError(path, "文本编码无法识别（不是 UTF-8 或 GBK/GB18030），请转换为 UTF-8 后再添加")


def _looks_like_text(text: str) -> bool:
    """Most characters are CJK, ASCII, CJK punctuation or common symbols (not mojibake)."""
    def plain(c: str) -> bool:
        o = ord(c)
        return (o < 0x7F or 0x2000 <= o <= 0x27BF or 0x3000 <= o <= 0x9FFF or 0xFF00 <= o <= 0xFFEF
                or 0xF900 <= o <= 0xFAFF)

    sample = text[:20000]
    return bool(sample) and sum(map(plain, sample)) >= 0.95 * len(sample)


def _pdf_pages(path: Path, data: bytes) -> list[str]:
    """Page texts of a PDF via pypdf; LoadError for encrypted, damaged or text-less files."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError as exc:
                raise LoadError(path, "PDF 已加密（AES），无法读取；请提供未加密的版本") from exc
            if not opened:
                raise LoadError(path, "PDF 已加密（需要密码），无法读取；请提供未加密的版本")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise LoadError(path, f"PDF 文件损坏或无法解析（{type(exc).__name__}）") from exc
    if not any(p.strip() for p in pages):
        raise LoadError(path, NO_TEXT_LAYER)
    return pages
