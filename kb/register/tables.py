"""The plan's indicator tables (专栏): tab-separated grids, per-city boxes and water control units, as rows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from indexing.types import Document, Section
from kb.register.spans import body_start, line_spans
from kb.vocab import words


@dataclass
class IndicatorRow:
    """One row of a plan indicator table (专栏), with the verbatim row text as its citation."""

    table: str  # "专栏2"
    category: str  # innermost category heading of the table, e.g. "水环境质量"
    indicator: str  # name without unit, footnote markers and "其中："
    unit: str = ""
    baseline: str = ""
    baseline_year: str = ""
    target: str = ""
    target_year: str = ""
    binding: str = ""  # 约束性 | 预期性 | ""
    result: str = ""  # 专栏1: the 2015 result
    status: str = ""  # 专栏1: 完成 | 未完成
    footnotes: list[str] = field(default_factory=list)  # markers: ["②"], ["*"]
    notes: list[str] = field(default_factory=list)  # the footnote texts for those markers
    areas: str = ""  # 专栏5: the counties of a control unit
    water_body: str = ""  # 专栏5: the controlled water body (and section)
    note: str = ""  # 专栏5: e.g. "COD、氟化物不参与考核"
    doc_id: str = ""
    section: str = ""
    start: int = 0  # span of the row's passage in Document.text
    end: int = 0
    passage: str = ""


_MARKERS = "①②③④⑤⑥⑦⑧⑨⑩*＊"
_MARKER_TAIL = re.compile(rf"[\s{_MARKERS}]+$")
_TABLE_UNITS = frozenset(words("units.tsv", "指标表"))
_UNIT_PAREN = re.compile(r"\s*[（(]\s*([^（）()]{1,8}?)\s*[）)]")
_CATEGORY_RE = re.compile(
    rf"^(?:\d+\s*[、.．]|[（(]\d+[）)])\s*(?P<name>[^\t]+?)\s*[（(][共]?\d+项[）)]\s*(?P<marks>[{_MARKERS}\s]*)$"
)
_NOTE_RE = re.compile(rf"^(?:注\s*(?P<m0>[{_MARKERS}]?)\s*[：:]\s*)?(?P<m>[{_MARKERS}])?(?P<text>.+)$")
_DASHES = {"-", "—", "–", "－", "--", "——"}


def _clean_cell(cell: str) -> str:
    """A cell without whitespace, every dash spelling read as "—"."""
    cell = re.sub(r"\s+", "", cell)
    return "—" if cell in _DASHES else cell


def _split_name(raw_name: str) -> tuple[str, str, list[str]]:
    """Indicator name, unit and footnote markers of a table's first cell."""
    name = raw_name.strip()
    marks = [c for c in _MARKER_TAIL.search(name).group(0) if c in _MARKERS] if _MARKER_TAIL.search(name) else []
    name = _MARKER_TAIL.sub("", name)
    name = re.sub(r"^其中\s*[：:]\s*", "", name)
    unit = ""
    for m in _UNIT_PAREN.finditer(name):
        if m.group(1).strip() in _TABLE_UNITS:
            unit = m.group(1).strip()
            name = name[: m.start()] + name[m.end() :]
            break
    return re.sub(r"\s+", "", name), unit, marks


def _column_roles(header: list[str]) -> tuple[list[str], str]:
    """Role of each column after the first (baseline/target/result/status/binding) and the target year."""
    roles: list[str] = []
    target_year = ""
    for cell in header[1:]:
        c = re.sub(r"\s+", "", cell)
        if "基准" in c:
            roles.append("baseline")
        elif "规划目标" in c or "目标" in c:
            roles.append("target")
        elif "完成情况" in c:
            roles.append("result")
        elif "比较" in c or "结果" in c:
            roles.append("status")
        elif "属性" in c:
            roles.append("binding")
        elif re.fullmatch(r"((?:19|20)\d\d)年\W*", c):
            roles.append("target")
            target_year = c[:4]
        else:
            roles.append("")
    return roles, target_year


def _parse_grid(doc: Document, box: Section, name: str, path: str) -> list[IndicatorRow]:
    """Rows of a tab-separated table (专栏1, 专栏2): header, category rows, data rows, footnotes."""
    text = doc.text
    rows: list[IndicatorRow] = []
    roles: list[str] = []
    target_year = ""
    categories: list[tuple[int, str, list[str]]] = []  # (depth, name, markers)
    notes: dict[str, str] = {}
    note_marker_of_column: dict[str, str] = {}
    pending = ""  # a name cell carried over from a broken line
    pending_start = -1
    for ls, le in line_spans(text, body_start(doc, box), box.end):
        line = text[ls:le]
        cells = line.split("\t")
        if not roles and len(cells) >= 3 and re.sub(r"\s+", "", cells[0]) in ("指标", "项目", "指标名称"):
            roles, target_year = _column_roles(cells)
            for role, cell in zip(roles, cells[1:], strict=False):
                for c in cell:
                    if c in _MARKERS:
                        note_marker_of_column[c] = role
            continue
        if not roles:
            continue
        if "\t" not in line and (line.lstrip().startswith("注") or line.strip()[:1] in _MARKERS):
            nm = _NOTE_RE.match(line.strip())
            marker = (nm.group("m0") or nm.group("m") or "") if nm else ""
            if marker:
                notes[marker] = line.strip()
            continue
        cm = _CATEGORY_RE.match(line.replace("\t", " ").strip()) if len([c for c in cells if c.strip()]) <= 1 else None
        if cm:
            depth = 2 if line.lstrip().startswith(("（", "(")) else 1
            categories = [c for c in categories if c[0] < depth]
            categories.append((depth, cm.group("name").strip(), [c for c in cm.group("marks") if c in _MARKERS]))
            continue
        values = [_clean_cell(c) for c in cells[1:]]
        if not any(values):
            # a name broken across lines: keep it for the next line's values
            pending = (pending + line.strip()) if pending else line.strip()
            pending_start = ls if pending_start < 0 else pending_start
            continue
        raw_name = (pending + cells[0]) if pending else cells[0]
        row_start = pending_start if pending else ls
        pending, pending_start = "", -1
        indicator, unit, marks = _split_name(raw_name)
        row = IndicatorRow(table=name, category=categories[-1][1] if categories else "", indicator=indicator,
                           unit=unit, target_year=target_year, doc_id=doc.doc_id, section=path,
                           start=row_start, end=le, passage=text[row_start:le])
        for role, value in zip(roles, values, strict=False):
            if role:
                setattr(row, role, value)
        cat_marks = [mk for _, _, ms in categories for mk in ms]
        row.footnotes = list(dict.fromkeys(marks + cat_marks))
        if row.target == "" and rows and rows[-1].category == row.category and not is_number(rows[-1].target):
            row.target = rows[-1].target  # a merged cell spanning the rows below it
        rows.append(row)
    _attach_notes(rows, notes, note_marker_of_column)
    return rows


def _attach_notes(rows: list[IndicatorRow], notes: dict[str, str], column_markers: dict[str, str]) -> None:
    """Footnote texts onto rows, and baseline years from a baseline-column footnote."""
    years: list[tuple[str, str]] = []  # (scope words, year); scope "" = the rest
    for marker, role in column_markers.items():
        if role != "baseline" or marker not in notes:
            continue
        for m in re.finditer(r"([\u4e00-\u9fff]{2,12}?)基准年数据为((?:19|20)\d\d)年", notes[marker]):
            years.append((m.group(1), m.group(2)))
        m = re.search(r"其余基准年数据均为((?:19|20)\d\d)年", notes[marker])
        if m:
            years.append(("", m.group(1)))
    for row in rows:
        row.notes = [notes[mk] for mk in row.footnotes if mk in notes]
        for scope, year in years:
            if not scope or scope in row.category or scope in row.indicator:
                row.baseline_year = year
                break


def is_number(value: str) -> bool:
    """Whether a table cell holds one number (with an optional ≤/≥/</> sign)."""
    return bool(re.fullmatch(r"[≤≥<>]?\d+(?:\.\d+)?", value))


_CITY_LEVEL_RE = re.compile(r"([\u4e00-\u9fff]{2,8}?)[：:]\s*(\d+(?:\.\d+)?)\s*(微克/立方米)")
_CITY_FALL_RE = re.compile(r"((?:[\u4e00-\u9fff]{2,8}?[市县])(?:、[\u4e00-\u9fff]{2,8}?[市县])*)(下降\d+(?:\.\d+)?%)")
_AVG_FALL_RE = re.compile(r"([\u4e00-\u9fff]{2,12}?)(平均下降\d+(?:\.\d+)?%)")
_KEEP_RE = re.compile(r"应(保持[^。；]+)")
_LATER_RE = re.compile(r"另行分解")
# A category label line of a 专栏3 box ("1、乌鲁木齐区域"); longer lines are prose of the box.
BOX_LABEL_MAX_CHARS = 40
_BOX_ITEM_RE = re.compile(r"^(?:[一二三四五六七八九十]+、|\d+[.．、])\s*(?P<label>.+)$")


def _parse_city_box(doc: Document, box: Section, name: str, path: str) -> list[IndicatorRow]:
    """专栏3-style box: per-city levels "(2015年…浓度分别为：A：64微克/立方米；…)" and required falls."""
    text = doc.text
    title_measure = re.search(r"各城市(.+?)(?:下降|目标)", box.heading)
    measure = title_measure.group(1) if title_measure else "细颗粒物浓度"
    base_year_re = re.compile(r"((?:19|20)\d\d)年[^：:]{0,20}?浓度分别为")
    blocks: list[tuple[str, int, int]] = []  # (category, start, end)
    for ls, le in line_spans(text, body_start(doc, box), box.end):
        m = _BOX_ITEM_RE.match(text[ls:le].strip())
        if m and len(text[ls:le]) <= BOX_LABEL_MAX_CHARS and not re.search(r"[。；]", text[ls:le]):
            blocks.append((m.group("label").strip(), le + 1, le + 1))
            continue
        if blocks:
            cat, bs, _ = blocks[-1]
            blocks[-1] = (cat, bs, le)
    rows: list[IndicatorRow] = []
    for cat, bs, be in blocks:
        if be <= bs:
            continue
        block = text[bs:be]
        levels = [(m.group(1), m.group(2), m.group(3)) for m in _CITY_LEVEL_RE.finditer(block)]
        if not levels and not _AVG_FALL_RE.search(block):
            continue
        by = base_year_re.search(block)
        base_year = by.group(1) if by else ""
        falls: dict[str, str] = {}
        for m in _CITY_FALL_RE.finditer(block):
            for city in m.group(1).split("、"):
                falls[city] = m.group(2)
        keep = _KEEP_RE.search(block)
        group_target = keep.group(1) if keep else ("另行分解" if _LATER_RE.search(block) else "")
        passage = text[bs:be].strip()
        ps = bs + (len(text[bs:be]) - len(text[bs:be].lstrip()))
        avg = _AVG_FALL_RE.search(block)
        common = {"table": name, "category": cat, "doc_id": doc.doc_id, "section": path, "start": ps,
                  "end": ps + len(passage), "passage": passage}
        if avg:
            avg_name = re.sub(r"^.*?期间", "", avg.group(1))
            rows.append(IndicatorRow(indicator=avg_name, target=avg.group(2), **common))
        for city, level, unit in levels:
            rows.append(IndicatorRow(indicator=city + measure, unit=unit, baseline=level, baseline_year=base_year,
                                     target=falls.get(city, group_target), **common))
    return rows


_CONTROL_UNIT_RE = re.compile(
    r"^\d+[.．、]\s*(?P<name>[^。]+?控制单元)。控制区县(?P<areas>.+?)[,，]控制水体(?:及其断面为)?(?P<water>[^。]+?)。"
    r"现状水质(?P<cur>[^,，]+?)[,，]\s*(?P<ty>(?:19|20)\d\d)年目标水质(?P<tgt>[劣IVXⅠⅡⅢⅣⅤ]+类)"
    r"(?:\s*[（(](?P<note>[^）)]+)[）)])?[;；。]?$"
)


def _parse_control_units(doc: Document, box: Section, name: str, path: str) -> list[IndicatorRow]:
    """专栏5-style box: numbered control units with counties, water body, current and target class."""
    rows = []
    for ls, le in line_spans(doc.text, body_start(doc, box), box.end):
        m = _CONTROL_UNIT_RE.match(doc.text[ls:le].strip())
        if not m:
            continue
        rows.append(IndicatorRow(
            table=name, category=re.sub(r"^.*?期间", "", _box_title(box)), indicator=m.group("name"),
            unit="水质类别", baseline=m.group("cur"), target=m.group("tgt"), target_year=m.group("ty"),
            areas=m.group("areas"), water_body=m.group("water"), note=m.group("note") or "",
            doc_id=doc.doc_id, section=path, start=ls, end=le, passage=doc.text[ls:le],
        ))
    return rows


def _box_name(box: Section) -> str:
    """The box label ("专栏2") of a box heading."""
    m = re.match(r"专栏\s*(\d+)", box.heading)
    return f"专栏{m.group(1)}" if m else box.heading[:8]


def _box_title(box: Section) -> str:
    """A box heading without its label."""
    return re.sub(r"^专栏\s*\d+\s*", "", box.heading).strip()


def parse_indicator_tables(doc: Document, sections: Sequence[Section]) -> list[IndicatorRow]:
    """Every indicator-table row of the document's 专栏 boxes, in document order.

    Tab-separated grids (专栏1, 专栏2) are read by their header row; category rows such as
    "1. 环境质量（9项）" and footnote markers (①…, *) on names or categories are attached to each row,
    and footnote texts under the table are attached by marker; an empty cell under a merged text cell
    takes the text above it. Boxes of per-city levels (专栏3) and of water control units (专栏5) are read
    from their prose shapes.
    """
    rows: list[IndicatorRow] = []
    for box in sections:
        if box.kind != "box":
            continue
        name = _box_name(box)
        path = " > ".join(box.path)
        body = doc.text[body_start(doc, box) : box.end]
        if re.search(r"^指\s*标\t", body, re.M):
            rows.extend(_parse_grid(doc, box, name, path))
        elif "控制单元" in box.heading:
            rows.extend(_parse_control_units(doc, box, name, path))
        elif "浓度分别为" in body:
            rows.extend(_parse_city_box(doc, box, name, path))
    return rows
