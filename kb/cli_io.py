"""Input and output of the `kb` command: UTF-8 whatever the locale, `-o FILE`, CSV exports and JSONL batch lines.

Output goes out as UTF-8 bytes (``sys.stdout.buffer`` or the ``-o`` file), so a GBK or ASCII locale neither
breaks a CSV's BOM nor silently re-encodes an ICS. Batch lines are parsed one by one: a bad line becomes an
error record and the run goes on. CSV exports (register, quiz) start with a UTF-8 BOM so that Excel shows the
Chinese.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from kb.textclean import clean_text


class Output:
    """Where a command's output goes: stdout (as UTF-8 bytes) or a file opened on the first write."""

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path) if path and path != "-" else None
        self._fh: BinaryIO | None = None

    def write(self, text: str) -> None:
        """Write text as UTF-8 (anything unencodable, such as a lone surrogate, replaced)."""
        data = text.encode("utf-8", "replace")
        if self.path is not None:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("wb")
            self._fh.write(data)
            self._fh.flush()
            return
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # stdout replaced by a text-only stream
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
            return
        sys.stdout.flush()
        buffer.write(data)
        buffer.flush()

    def line(self, text: str) -> None:
        """Write one line (a newline added)."""
        self.write(text if text.endswith("\n") else text + "\n")

    def close(self) -> None:
        """Close the file, if one was opened."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def emit(text: str, path: str | None = None) -> None:
    """Write a whole export to stdout or to ``path`` (UTF-8, ending with a newline)."""
    out = Output(path)
    try:
        out.line(text)
    finally:
        out.close()


CSV_HEADERS = ("zh", "raw")  # Chinese column names (the default, for Excel users) or the machine names


def _column_labels() -> dict[str, str]:
    """Machine column name -> Chinese column name (kb/vocab/csv_columns.tsv)."""
    from kb.vocab import table

    return {row["列名"]: row["中文列名"] for row in table("csv_columns.tsv")}


def bom_csv(columns: Sequence[str], rows: Iterable[dict], headers: str = "zh") -> str:
    """CSV text of ``rows`` under a header row of ``columns`` (their Chinese names unless ``headers`` is "raw"),
    CRLF line ends, starting with a UTF-8 BOM."""
    if headers not in CSV_HEADERS:
        raise ValueError(f"unknown CSV headers: {headers!r} (zh or raw)")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    labels = _column_labels() if headers == "zh" else {}
    writer.writerow([labels.get(c, c) for c in columns])
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return "\ufeff" + buf.getvalue()


def read_bom_csv(text: str) -> Iterator[dict[str, str]]:
    """The rows of :func:`bom_csv` output (the BOM optional), keyed by machine column name whichever header it has."""
    names = {label: name for name, label in _column_labels().items()}
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [names.get(h, h) for h in next(reader, [])]
    return (dict(zip(header, row, strict=False)) for row in reader if row)


def dumps(obj: object) -> str:
    """One JSON line: Chinese unescaped, and never NaN or Infinity (which are not JSON)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


@dataclass
class BatchLine:
    """One non-blank line of a batch file: its question, or why it cannot be asked."""

    line: int  # 1-based line number in the file
    id: object  # the "id" given (cleaned), else the line number; None when the given id is unusable
    question: str = ""
    error: str = ""
    history: list[str] = field(default_factory=list)  # earlier questions of the conversation, for a follow-up

    def error_record(self) -> dict:
        """The output record of a bad line."""
        return {"id": self.id, "line": self.line, "error": self.error}


def _no_constants(name: str) -> object:
    raise ValueError(f"不允许 {name}（JSON 不支持非有限数值）")


def _usable_id(value: object) -> tuple[object, str]:
    """The id to echo, and an error message ("" when fine)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value, ""
    if isinstance(value, float):
        return (value, "") if math.isfinite(value) else (None, "id 不能是非有限数值")
    if isinstance(value, str):
        return clean_text(value), ""
    return None, "id 应为字符串或数字"


def parse_line(number: int, raw: bytes) -> BatchLine | None:
    """A batch line ({"id": …, "q": …[, "history": […]]}, "question" also accepted) parsed; None for a blank line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return BatchLine(number, number, error=f"第 {number} 行不是有效的 UTF-8 文本（第 {e.start + 1} 字节）")
    if number == 1:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        return None
    try:
        obj = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        return BatchLine(number, number, error=f"第 {number} 行的 JSON 嵌套过深")
    except json.JSONDecodeError as e:
        return BatchLine(number, number, error=f"第 {number} 行不是有效的 JSON（第 {e.colno} 列：{e.msg}）")
    except ValueError as e:
        return BatchLine(number, number, error=f"第 {number} 行：{e}")
    if not isinstance(obj, dict):
        kind = {list: "数组", str: "字符串", bool: "布尔值", type(None): "null"}.get(type(obj), "数字")
        return BatchLine(number, number, error=f'第 {number} 行应为 JSON 对象 {{"id": …, "q": …}}，而不是{kind}')
    ident, problem = _usable_id(obj.get("id", number))
    if problem:
        return BatchLine(number, ident, error=f"第 {number} 行：{problem}")
    q = obj.get("q", obj.get("question"))
    if q is None:
        return BatchLine(number, ident, error=f'第 {number} 行缺少问题字段 "q"')
    if not isinstance(q, str):
        return BatchLine(number, ident, error=f'第 {number} 行的 "q" 应为字符串')
    question = clean_text(q).strip()
    if not question:
        return BatchLine(number, ident, error=f"第 {number} 行的问题为空")
    history = obj.get("history") or []
    history = [history] if isinstance(history, str) else history
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        return BatchLine(number, ident, error=f'第 {number} 行的 "history" 应为字符串数组（之前的问题）')
    return BatchLine(number, ident, question=question, history=[clean_text(h).strip() for h in history])


def read_batch(fh: BinaryIO) -> Iterator[BatchLine]:
    """The non-blank lines of an open batch file, read lazily (so `--batch -` answers as lines arrive)."""
    for number, raw in enumerate(fh, 1):
        parsed = parse_line(number, raw.rstrip(b"\r\n"))
        if parsed is not None:
            yield parsed
