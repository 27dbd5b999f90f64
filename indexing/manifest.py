"""The corpus manifest (corpus/MANIFEST.tsv): one line of metadata per document file."""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

MANIFEST_NAME = "MANIFEST.tsv"
KINDS = ("plan", "law", "regulation", "list")
COLUMNS = ("doc_id", "file", "title", "kind", "doc_number", "issuer", "dates", "source", "replaced_by")


@dataclass(frozen=True)
class ManifestEntry:
    """One manifest line: a document's identity and bibliographic metadata."""

    doc_id: str
    file: str  # path relative to the corpus root, "/"-separated
    title: str
    kind: str  # plan | law | regulation | list
    doc_number: str = ""
    issuer: str = ""
    dates: str = ""
    source: str = ""
    replaced_by: str = ""  # doc_id of the document that replaced this one, when it has been repealed

    def meta(self) -> dict[str, str]:
        """The non-empty bibliographic fields, for ``Document.meta``."""
        fields = {"doc_number": self.doc_number, "issuer": self.issuer, "dates": self.dates,
                  "source": self.source, "replaced_by": self.replaced_by}
        return {k: v for k, v in fields.items() if v}


_REPEALED = re.compile(r"(\d{4}-\d\d-\d\d)废止")


def repeal_status(dates: str) -> str:
    """"YYYY-MM-DD废止" when the manifest's dates say the document was repealed, else "" (in force)."""
    m = _REPEALED.search(dates or "")
    return f"{m.group(1)}废止" if m else ""


def repeals(corpus_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """From one reading of the manifest: doc_id -> repeal status ("2022-06-05废止") of every repealed document, and
    doc_id -> title of the document that replaced it, for each repealed document whose ``replaced_by`` column names
    one the manifest lists too."""
    entries = read_manifest(corpus_dir).values()
    statuses = {e.doc_id: s for e in entries if (s := repeal_status(e.dates))}
    titles = {e.doc_id: e.title for e in entries}
    return statuses, {e.doc_id: titles[e.replaced_by] for e in entries
                      if e.doc_id in statuses and e.replaced_by in titles}


def doc_statuses(corpus_dir: Path) -> dict[str, str]:
    """doc_id -> repeal status ("2022-06-05废止") of every repealed document the manifest lists."""
    return repeals(corpus_dir)[0]


def read_manifest(corpus_dir: Path) -> dict[str, ManifestEntry]:
    """Read corpus_dir/MANIFEST.tsv into entries keyed by relative file path (bad lines are logged)."""
    path = Path(corpus_dir) / MANIFEST_NAME
    if not path.is_file():
        log.warning("%s 不存在：所有文档的元数据将从内容推断", path)
        return {}
    entries: dict[str, ManifestEntry] = {}
    seen_ids: set[str] = set()
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in ("doc_id", "file", "title", "kind") if c not in (reader.fieldnames or [])]
        if missing:
            log.warning("%s 缺少列 %s：忽略该清单", path, ", ".join(missing))
            return {}
        for lineno, row in enumerate(reader, start=2):
            values = {c: (row.get(c) or "").strip() for c in COLUMNS}
            if not values["doc_id"] or not values["file"]:
                log.warning("%s 第 %d 行缺少 doc_id 或 file：已跳过", path, lineno)
                continue
            if values["kind"] not in KINDS:
                guessed = guess_kind(values["title"])
                log.warning("%s 第 %d 行 kind=%r 无效，按标题推断为 %s", path, lineno, values["kind"], guessed)
                values["kind"] = guessed
            if values["doc_id"] in seen_ids:
                log.warning("%s 第 %d 行 doc_id %s 重复：已跳过", path, lineno, values["doc_id"])
                continue
            seen_ids.add(values["doc_id"])
            values["file"] = PurePosixPath(values["file"].replace("\\", "/")).as_posix()
            entries[values["file"]] = ManifestEntry(**values)
    for rel in entries:
        if not (Path(corpus_dir) / rel).is_file():
            log.warning("%s 列出的文件 %s 不存在", path, rel)
    return entries


_RULES_TITLE = re.compile(r"(?:条例|办法|规定|细则|规则)(?:[（(].*[）)])?$")
_LAW_TITLE = re.compile(r"法(?:[（(].*[）)])?$")
_PLAN_TITLE = re.compile(r"规划|计划|方案")
_ARTICLE_LINE = re.compile(r"^[ \t　]*第[一二三四五六七八九十百零〇\d]+条", re.M)
_PLAN_HEADING = re.compile(r"^[ \t　]*[一二三四五六七八九十]+、", re.M)
_DATED_TASK = re.compile(r"(?:19|20)\d\d年(?:底|\d{1,2}月底?)?(?:前|以前)")


def guess_kind(title: str, text: str = "") -> str:
    """Guess a document kind from its title, else from its text.

    Title: 条例/办法/规定/细则/规则 -> regulation, 规划/计划/方案 -> plan, …法 -> law. Text (a file without a telling
    title): two or more lines opening with 第N条 -> regulation; two or more 一、 headings and two or more dated tasks
    ("2025年底前") -> plan. Anything else is a list (a catalogue or table).
    """
    if _RULES_TITLE.search(title) or "条例" in title:
        return "regulation"
    if _PLAN_TITLE.search(title):
        return "plan"
    if _LAW_TITLE.search(title):
        return "law"
    if len(_ARTICLE_LINE.findall(text)) >= 2:
        return "regulation"
    if len(_PLAN_HEADING.findall(text)) >= 2 and len(_DATED_TASK.findall(text)) >= 2:
        return "plan"
    return "list"


def guess_entry(rel_path: str, title: str, text: str = "") -> ManifestEntry:
    """A stand-in entry for a file with no manifest line: doc_id from the file name, kind from title and text."""
    stem = PurePosixPath(rel_path).stem
    doc_id = re.sub(r"[^\w.-]+", "-", stem).strip("-").lower() or "doc"
    title = title.strip() or stem
    return ManifestEntry(doc_id=doc_id, file=rel_path, title=title, kind=guess_kind(title, text))
