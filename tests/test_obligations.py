"""Obligations register: deadline rules, parties, indicator tables, conflicts, query, exports, gold scores."""

from __future__ import annotations

import argparse
import csv
import io
from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar

from eval.obligations_eval import THRESHOLDS, load_gold, score_register
from indexing.config import PACKAGE_CORPUS, Settings
from indexing.loaders import load_document
from indexing.manifest import read_manifest
from indexing.structure import parse_sections
from indexing.types import Document
from kb.ask.aggregate import answer_aggregate
from kb.commands import cmd_obligations
from kb.register.conflicts import indicator_key
from kb.register.deadlines import parse_deadlines
from kb.register.export import CSV_COLUMNS, from_csv, to_csv, to_ics, to_json, to_table
from kb.register.extract import extract_obligations
from kb.register.query import query
from kb.register.store import build_register, load_register, save_register
from kb.register.tables import parse_indicator_tables
from kb.register.targets import extract_targets

PLAN = "plan/xinjiang-env-protection-13th-fyp-2017.txt"
LAW = "laws/env-protection-law-2014.md"


def _load(rel: str) -> tuple[Document, list]:
    manifest = read_manifest(PACKAGE_CORPUS)
    doc = load_document(PACKAGE_CORPUS / rel, PACKAGE_CORPUS, manifest.get(rel))
    return doc, parse_sections(doc)


@pytest.fixture(scope="module")
def plan():
    return _load(PLAN)


@pytest.fixture(scope="module")
def register(plan):
    return build_register([plan, _load(LAW)])


def _synthetic(text: str) -> tuple[Document, list]:
    doc = Document(doc_id="t-plan", title="测试规划", kind="plan", path="plan/t.txt", raw=text, text=text,
                   offsets=list(range(len(text))), sha256="", meta={"dates": "2017-06-22印发"})
    return doc, parse_sections(doc)


SYNTHETIC = """三、主要任务和重点工程

（一）推进体制改革，促进责任落实

1. 实施环境保护督察

各级人民政府要加强对环境保护工作的组织领导。2017年前完成对所有地、州、市的环境保护督察。2017年底前完成重点行业企业排污许可证核发工作，到2020年基本建立覆盖所有固定污染源的企业排放许可制。

自2018年起，自治区土壤环境重点监管企业每年要对其用地进行土壤环境监测，监测结果向社会公开。国家级自然保护区每年遥感监测2次，省级自然保护区每年遥感监测1次。基本完成2010年前关停的铀矿冶设施的退役治理。

（二）落实兵团环境保护体制责任

2018年6月底前完成兵地环境监测网络对接。
"""


@pytest.fixture(scope="module")
def synthetic():
    doc, sections = _synthetic(SYNTHETIC)
    return doc, extract_obligations(doc, sections)


def _one(records, piece: str):
    found = [r for r in records if piece in r.action]
    assert len(found) == 1, (piece, [r.action for r in found])
    return found[0]


# --- deadlines ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "expr", "iso"),
    [
        ("2017年底前完成调查", "end-of-year", "2017年底前", "2017-12-31"),
        ("2017年前完成督察", "by-date", "2017年前", "2017-12-31"),  # not before the plan itself
        ("到2020年，全区用水总量", "by-date", "到2020年", "2020-12-31"),
        ("于2020年底前达到", "end-of-year", "2020年底前", "2020-12-31"),
        ("2018年6月底前完成", "by-date", "2018年6月底前", "2018-06-30"),
        ("2018年6月前完成", "by-date", "2018年6月前", "2018-05-31"),
        ("自2018年起，企业", "from-year-on", "自2018年起", "2018-01-01"),
        ("重污染天数逐年减少", "annual", "逐年", ""),
        ("每年遥感监测2次", "annual", "每年", ""),
        ("“十三五”期间浓度下降", "period", "“十三五”期间", "2020-12-31"),
        ("取消旁路烟道，2020年实现超低排放", "by-date", "2020年", "2020-12-31"),
        ("在2018年底，组织中期评估", "end-of-year", "2018年底", "2018-12-31"),
        ("应当在2027年6月30日前完成安装", "by-date", "2027年6月30日前", "2027-06-30"),  # a day: that day
        ("到2025年12月31日，完成整治", "by-date", "到2025年12月31日", "2025-12-31"),
    ],
)
def test_deadline_rules(text, kind, expr, iso):
    (dl,) = parse_deadlines(text, min_year=2017)
    assert (dl.kind, dl.text, dl.date) == (kind, expr, iso)
    assert text[dl.start : dl.end].endswith(expr.removeprefix("到"))


@pytest.mark.parametrize(
    "text",
    ["2010年前关停的铀矿冶设施", "《总体规划(2013-2020年)》", "比2015年下降18.3%", "2015年细颗粒物平均浓度",
     "2017年6月23日印发", "自2027年1月1日起施行", "2027年2月30日前完成"],
)
def test_not_deadlines(text):
    assert parse_deadlines(text, min_year=2017) == []


def test_before_year_versus_end_of_year(synthetic):
    _, records = synthetic
    before = _one(records, "完成对所有地、州、市的环境保护督察")
    end = _one(records, "排污许可证核发工作")
    assert (before.deadline_text, before.deadline_date, before.year) == ("2017年前", "2017-12-31", 2017)
    assert (end.deadline_text, end.deadline_date, end.deadline_kind) == ("2017年底前", "2017-12-31", "end-of-year")
    assert [r.deadline_text for r in query_all(records, due_before="2016-12-31")] == []
    assert {"2017年前", "2017年底前"} <= {r.deadline_text for r in query_all(records, year=2017)}


def query_all(records, **filters):
    from kb.register.store import Register

    return query(Register(records=records, doc_order=["t-plan"]), **filters)


def test_two_deadlines_in_one_sentence(synthetic):
    _, records = synthetic
    first = _one(records, "排污许可证核发工作")
    second = _one(records, "企业排放许可制")
    assert first.passage == second.passage
    assert first.action.startswith("2017年底前") and "排放许可制" not in first.action
    assert second.action.startswith("到2020年") and (second.deadline_kind, second.year) == ("by-date", 2020)
    assert first.ob_id != second.ob_id


def test_from_year_on_absorbs_every_year_and_annual_alone(synthetic):
    _, records = synthetic
    monitoring = [r for r in records if "土壤环境监测" in r.action]
    assert len(monitoring) == 1  # 自2018年起 … 每年: one record, not two
    rec = monitoring[0]
    assert (rec.deadline_kind, rec.deadline_text, rec.deadline_date) == ("from-year-on", "自2018年起", "2018-01-01")
    assert (rec.party, rec.party_source) == ("自治区土壤环境重点监管企业", "explicit")
    twice = _one(records, "每年遥感监测2次")
    once = _one(records, "每年遥感监测1次")
    assert twice.deadline_kind == once.deadline_kind == "annual"
    assert twice.deadline_date == "" and twice.year is None
    assert twice.passage == once.passage  # one sentence, two annual duties


def test_past_year_is_not_a_deadline(synthetic):
    _, records = synthetic
    assert _one(records, "退役治理").deadline_kind == "none"


def test_inherited_and_unspecified_party(synthetic):
    _, records = synthetic
    lead = _one(records, "加强对环境保护工作的组织领导")
    assert (lead.party, lead.party_source) == ("各级人民政府", "explicit")
    audit = _one(records, "环境保护督察")
    assert (audit.party, audit.party_source) == ("各级人民政府", "inherited")  # from the paragraph's subject
    reserves = _one(records, "每年遥感监测2次")
    assert (reserves.party, reserves.party_source) == ("未明确", "none")  # a place is not a party
    by_heading = _one(records, "兵地环境监测网络对接")
    assert (by_heading.party, by_heading.party_source) == ("兵团", "inherited")
    assert by_heading.deadline_date == "2018-06-30"


def test_records_cite_their_spans(synthetic):
    doc, records = synthetic
    for r in records:
        assert doc.text[r.start : r.end] == r.passage
        assert r.action in r.passage or r.source == "table"
        assert "体制" in r.section
        assert r.domain == "体制"


# --- the real plan ---------------------------------------------------------------------------------------


def test_plan_records_on_known_sentences(plan):
    doc, sections = plan
    records = extract_obligations(doc, sections)
    landfill = _one(records, "垃圾填埋场管理机构必须定期监测评估")
    assert (landfill.party, landfill.party_source, landfill.domain) == ("垃圾填埋场管理机构", "explicit", "土壤")
    herd = _one(records, "各地依法关闭或搬迁禁养区内的养殖场")
    assert (herd.party, herd.deadline_date) == ("各地", "2017-12-31")
    sludge = _one(records, "城市污泥无害化处理处置率应于2020年底前达到90%以上")
    assert sludge.target is not None and (sludge.target.value, sludge.target.unit) == ("90", "%")
    for r in records:
        assert doc.text[r.start : r.end] == r.passage
        assert not r.section.startswith("一、环境保护基础与形势")  # the review of the past holds no tasks


def test_indicator_tables(plan):
    doc, sections = plan
    rows = parse_indicator_tables(doc, sections)
    by = {(r.table, r.indicator): r for r in rows}
    assert sum(1 for r in rows if r.table == "专栏2") == 20
    water = by[("专栏2", "城镇集中式饮用水水源地水质达到或优于Ⅲ类比例")]
    assert (water.unit, water.baseline, water.target, water.binding) == ("%", "91", "91", "约束性")
    assert water.footnotes == ["②"] and "124个" in water.notes[0]
    assert water.baseline_year == "2014"  # from footnote ① on the baseline column
    pm = by[("专栏2", "细颗粒（PM2.5）未达标城市浓度下降")]
    assert pm.footnotes == ["⑤"] and pm.baseline == "—"  # the category row's marker
    nh3 = by[("专栏2", "氨氮排放总量")]
    assert nh3.target == "控制在国家下达指标范围内" and nh3.footnotes == ["⑥"]  # merged cell
    assert by[("专栏2", "电能替代量")].unit == "亿千瓦时"
    air = by[("专栏1", "空气质量好于二级标准的城市比例")]
    assert (air.target, air.result, air.status, air.footnotes) == ("63", "47.37", "未完成", ["*"])
    urumqi = by[("专栏3", "乌鲁木齐市细颗粒物浓度")]
    assert (urumqi.baseline, urumqi.unit, urumqi.target) == ("64", "微克/立方米", "下降20%")
    assert by[("专栏3", "喀什细颗粒物浓度")].target == "另行分解"
    ulungur = by[("专栏5", "乌伦古湖阿勒泰地区控制单元")]
    assert (ulungur.baseline, ulungur.target, ulungur.water_body) == ("劣V类", "III类", "乌伦古湖")
    assert ulungur.areas == "阿勒泰地区福海县,吉木乃县" and ulungur.note == "COD、氟化物不参与考核"
    for r in rows:
        assert doc.text[r.start : r.end] == r.passage


def test_table_records(plan):
    records = extract_obligations(*plan)
    tables = [r for r in records if r.source == "table"]
    assert not any("专栏1" in r.section for r in tables)  # past results are not obligations
    garbage = next(r for r in tables if r.target and r.target.indicator == "城市生活垃圾无害化处理率")
    assert (garbage.binding, garbage.deadline_date, garbage.target.value) == ("预期性", "2020-12-31", "75")
    pm = next(r for r in tables if r.target and r.target.indicator == "乌鲁木齐市细颗粒物浓度")
    assert (pm.deadline_kind, pm.target.comparator, pm.target.baseline_value) == ("period", "下降", "64")


def test_conflict_90_vs_75(register):
    conflicts = register.conflicts
    garbage = [c for c in conflicts if "城市生活垃圾无害化处理率" in c.indicator]
    assert len(garbage) == 1
    c = garbage[0]
    assert {c.first_value, c.second_value} == {"90%", "75%"}
    sides = {c.first.source: c.first, c.second.source: c.second}
    assert "城市生活垃圾无害化处理率达到90%以上" in sides["text"].passage
    assert "城市生活垃圾无害化处理率" in sides["table"].passage and "75" in sides["table"].passage
    assert "专栏2" in sides["table"].section and "规划目标" in sides["text"].section
    assert set(c.to_dict()["first"]) >= {"doc_id", "section", "start", "end", "passage", "value"}
    # county-level targets agree with the table, and 城市/县城 are never mixed up
    assert not any("县城" in c.indicator for c in conflicts)


def test_loose_indicator_matching():
    assert indicator_key("城镇生活垃圾无害化处理率") == indicator_key("城市生活垃圾无害化处理率")
    assert indicator_key("县城生活垃圾无害化处理率") != indicator_key("城市生活垃圾无害化处理率")
    a = extract_targets("全区城市空气质量好于II级的天数比例达到71.6%（AQI），其中乌鲁木齐市达到75%（AQI）")
    assert [(t.indicator, t.value) for t in a] == [
        ("全区城市空气质量好于II级的天数比例", "71.6"), ("乌鲁木齐市空气质量好于II级的天数比例", "75")]
    assert extract_targets("县城、城市污水处理率分别达到80%、90%左右") == []


def test_gold_thresholds(register):
    gold = load_gold()
    assert sum(g["kind"] == "deadline" for g in gold) >= 40 and sum(g["kind"] == "indicator" for g in gold) == 56
    scores = score_register(register, gold)
    assert scores["deadline_recall"] >= THRESHOLDS["deadline_recall"], scores["deadlines"]["misses"]
    assert scores["deadline_precision"] >= THRESHOLDS["deadline_precision"], scores["deadlines"]["false_positives"]
    assert scores["party_accuracy"] >= THRESHOLDS["party_accuracy"], scores["deadlines"]["party_errors"]
    assert scores["indicator_exact_match"] >= THRESHOLDS["indicator_exact_match"], scores["indicators"]["errors"]
    assert all(scores["passed"].values())


def test_every_text_document_gives_records(corpus_register):
    """Every text document of the corpus states duties the register holds (speed of the extraction:
    eval/speed.py)."""
    manifest = read_manifest(PACKAGE_CORPUS)
    text_docs = {entry.doc_id for rel, entry in manifest.items() if not rel.endswith(".pdf")}
    assert len(text_docs) == 19 and text_docs <= {r.doc_id for r in corpus_register.records}


# --- laws ----------------------------------------------------------------------------------------------


def test_law_duties():
    doc, sections = _load(LAW)
    records = extract_obligations(doc, sections)
    local = _one(records, "地方各级人民政府应当对本行政区域的环境质量负责")
    assert (local.party, local.party_source, local.article, local.deadline_kind) == (
        "地方各级人民政府", "explicit", "第六条", "none")
    firms = _one(records, "企业事业单位和其他生产经营者应当防止、减少环境污染和生态破坏")
    assert firms.party == "企业事业单位和其他生产经营者"
    assert all(r.article for r in records)
    assert all(any(w in r.action for w in ("应当", "必须", "不得", "禁止", "严禁")) for r in records)


# --- register, query, exports --------------------------------------------------------------------------


def _gold_binding() -> set[str]:
    """The binding (约束性) indicators of the plan's 2020 target table, 专栏2 (gold register)."""
    return {g["indicator"] for g in load_gold() if g["kind"] == "indicator" and g["binding"] == "约束性"}


def _one_gold_each(records, gold: list[str]) -> None:
    """Each record is one gold record (by its verbatim passage) and each gold record is one record."""
    matched = [[g for g in gold if g in r.passage] for r in records]
    assert all(len(m) == 1 for m in matched), [(r.action, m) for r, m in zip(records, matched, strict=True)]
    assert sorted(m[0] for m in matched) == sorted(gold)


def test_register_round_trip_and_filters(register, tmp_path):
    path = tmp_path / "obligations.json"
    save_register(register, path)
    loaded = load_register(path)
    assert loaded.records == register.records
    assert [(c.first.ob_id, c.second.ob_id) for c in loaded.conflicts] == [
        (c.first.ob_id, c.second.ob_id) for c in register.conflicts]
    assert len(loaded.indicators) == len(register.indicators)

    due = query(loaded, due_before="2017-12-31")
    assert due and all(r.deadline_date <= "2017-12-31" for r in due)
    assert [r.deadline_date for r in due] == sorted(r.deadline_date for r in due)
    assert {r.year for r in query(loaded, year=2018)} == {2018}
    assert all("兵团" in r.party for r in query(loaded, party="兵团"))
    assert {r.doc_id for r in query(loaded, doc="env-protection-law-2014")} == {"env-protection-law-2014"}
    assert {r.domain for r in query(loaded, domain="水")} == {"水"}
    assert {r.target.indicator for r in query(loaded, binding="约束性")} == _gold_binding()
    assert all("黑臭水体" in r.passage for r in query(loaded, text="黑臭水体"))
    every = query(loaded)
    dated = [r for r in every if r.deadline_date]
    assert every[: len(dated)] == dated  # dated first, by date; undated after, in document order
    with pytest.raises(ValueError):
        query(loaded, due_before="2017-13-01")


def test_ics_is_valid_rfc5545(register):
    records = query(register, doc="xj-env-13fyp-2017")
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    text = to_ics(records, dtstamp=stamp)
    assert text == to_ics(records, dtstamp=stamp)  # stable UIDs
    cal = Calendar.from_ical(text)
    events = cal.walk("VEVENT")
    dated = [r for r in records if r.deadline_date or r.deadline_kind == "annual"]  # yearly duties recur
    assert len(events) == len(dated) > 0
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    assert len({str(e["UID"]) for e in events}) == len(events)
    for ev, r in zip(events, dated, strict=True):
        start = ev.decoded("DTSTART")
        assert isinstance(start, date) and not isinstance(start, datetime)
        assert start.isoformat() == (r.deadline_date or f"{r.year or 2017}-12-31")
        assert ev.decoded("DTSTAMP") == stamp
        assert str(ev["SUMMARY"]) and str(ev["SUMMARY"])[:10] == r.action[:10]
        assert r.passage[:20] in str(ev["DESCRIPTION"]) and r.title in str(ev["DESCRIPTION"])
    assert all(line.endswith("\r") or not line for line in text.split("\n")[:-1])  # CRLF line ends


def test_csv_round_trip(register):
    records = register.records[:40] + [r for r in register.records if r.source == "table"][:5]
    text = to_csv(records)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    # Chinese column names by default (Excel users), the machine names with headers="raw"; both read back
    assert len(rows) == len(records)
    assert rows[0]["记录编号"] == records[0].ob_id and rows[0]["责任主体"] == records[0].party
    assert "ob_id" not in rows[0] and "deadline_date" not in rows[0]
    assert from_csv(text) == records
    raw = to_csv(records, "raw")
    raw_rows = list(csv.DictReader(io.StringIO(raw.lstrip("\ufeff"))))
    assert list(raw_rows[0]) == list(CSV_COLUMNS) and raw_rows[0]["ob_id"] == records[0].ob_id
    assert from_csv(raw) == records
    assert len(set(rows[0])) == len(CSV_COLUMNS)  # every column has its own Chinese name


def test_json_and_table(register):
    records = query(register, due_before="2017-12-31")
    assert '"deadline_date": "2017-12-31"' in to_json(records)
    table = to_table(records)
    lines = table.splitlines()
    assert lines[0].startswith("期限") and lines[-1] == f"共 {len(records)} 条"


def test_cmd_obligations_builds_when_index_missing(tmp_path, capsys, corpus_register):
    settings = Settings(data_dir=tmp_path, corpus_dir=PACKAGE_CORPUS)
    args = argparse.Namespace(due_before="2017-12-31", year=None, party=None, doc=None, domain="水", format="csv")
    assert cmd_obligations(args, settings) == 0
    out, err = capsys.readouterr()
    assert "未找到" in err and "语料" in err and out.startswith("\ufeff")
    expected = query(corpus_register, due_before="2017-12-31", domain="水")
    assert "黑臭水体" in out and [r.ob_id for r in from_csv(out)] == [r.ob_id for r in expected]

    plan_only = build_register([_load(PLAN)])
    save_register(plan_only, settings.index_dir / "obligations.json")
    args = argparse.Namespace(due_before=None, year=2018, party=None, doc=None, domain=None, format="ics")
    assert cmd_obligations(args, settings) == 0
    out, err = capsys.readouterr()
    events = Calendar.from_ical(out).walk("VEVENT")
    due_2018 = [r for r in query(plan_only, year=2018) if r.deadline_date]
    assert err == "" and due_2018
    assert sorted((ev.decoded("DTSTART").isoformat(), str(ev["SUMMARY"])[:20]) for ev in events) == sorted(
        (r.deadline_date, r.action[:20]) for r in due_2018)
    args.due_before, args.year = "2017/12/31", None
    assert cmd_obligations(args, settings) == 2


# --- aggregate answers ---------------------------------------------------------------------------------


def test_answer_aggregate(register):
    gold_2017 = [g for g in load_gold() if g["kind"] == "deadline" and "2017" in g["deadline_text"]
                 and g["deadline_kind"] != "from-year-on"]
    due = answer_aggregate(register, "哪些任务要在2017年底前完成？")
    _one_gold_each(due, [g["passage_contains"] for g in gold_2017])
    assert [r.deadline_date for r in due] == sorted(r.deadline_date for r in due)
    water = answer_aggregate(register, "水污染防治方面，哪些任务要在2017年底前完成？")
    assert water and [r.ob_id for r in water] == [r.ob_id for r in due if r.domain == "水"] != [r.ob_id for r in due]
    targets = answer_aggregate(register, "2020年要达到哪些目标？")
    indicators = {r.target.indicator for r in targets}
    assert {"城市生活垃圾无害化处理率", "森林覆盖率"} <= indicators
    binding = answer_aggregate(register, "哪些是约束性指标？")
    assert {r.target.indicator for r in binding} == _gold_binding() and {r.binding for r in binding} == {"约束性"}
    who = answer_aggregate(register, "垃圾填埋场封场后，由谁定期监测评估其对周边土壤和地下水的影响？")
    assert who and who[0].party == "垃圾填埋场管理机构"
    assert answer_aggregate(register, "兵团负责哪些工作？")
    assert answer_aggregate(register, "新疆规划要求2019年底前完成哪些环保任务？") == []
    specific = ("环境保护法什么时候施行？", "2020年工业固体废物综合利用率的目标是多少？",
                "谁负责全国排污许可的统一监督管理？")
    for q in specific:
        assert answer_aggregate(register, q) is None
