"""Canonical parties and places of the register: the vocabularies, the classification, the plan's implementing
subject as an inherited party with its citation, and the share of 2017 tasks with a party."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kb.register import parties, places
from kb.web.tabs import register as web_register


@pytest.mark.parametrize(
    ("verbatim", "groups"),
    [
        ("县级以上地方人民政府", ("各级人民政府",)),
        ("设区的市级以上地方人民政府生态环境主管部门", ("生态环境主管部门",)),
        ("县级以上地方人民政府农业主管部门", ("其他政府部门",)),
        ("公安机关交通管理部门", ("公安机关交通管理部门",)),
        ("噪声重点排污单位", ("排污单位",)),
        ("排放工业废水的企业", ("排污单位",)),
        ("产生环境噪声污染的企业事业单位", ("排污单位",)),
        ("建设单位", ("建设单位",)),
        ("任何单位和个人", ("企业事业单位", "个人")),
        ("各级人民政府及其有关部门", ("各级人民政府", "其他政府部门")),
        ("提起诉讼的社会组织", ("其他",)),
        ("未明确", ("未明确",)),
        ("", ("未明确",)),
    ],
)
def test_classify_party(verbatim: str, groups: tuple[str, ...]) -> None:
    assert parties.classify_party(verbatim) == groups


def test_vocabularies_load_with_one_loader_each() -> None:
    rules = parties.load_party_rules()
    order = parties.canonical_order(rules)
    assert order[0] == "各级人民政府" and order[-2:] == ["其他", "未明确"]
    assert {"生态环境主管部门", "公安机关交通管理部门", "排污单位", "建设单位", "个人"} <= set(order)
    names = [p.name for p in places.load_places()]
    assert {"北疆", "南疆", "乌鲁木齐市", "伊宁市"} <= set(names)
    assert "伊宁" in places.place_terms("北疆")  # a region brings in its places


def _ob(ob_id: str, party: str, source: str, passage: str, doc: str = "plan", **kw: object) -> SimpleNamespace:
    base = dict(ob_id=ob_id, doc_id=doc, title="规划", party=party, party_source=source, passage=passage,
                action=passage, section="三、任务", start=0, end=len(passage), source="text", year=2017,
                deadline_text="2017年底前", deadline_date="2017-12-31", domain="水")
    base.update(kw)
    return SimpleNamespace(**base)


def test_plan_subject_is_inherited_with_its_sentence_and_laws_are_not() -> None:
    records = [
        _ob("a", "未明确", "none", "2017年底前完成乌鲁木齐市建成区黑臭水体治理任务"),
        _ob("b", "各级人民政府", "explicit", "各级人民政府是规划实施的主体，应突出环保规划的基础作用。另一句。"),
        _ob("c", "排污单位", "explicit", "排污单位应当公开排放信息"),
        _ob("d", "未明确", "none", "防治大气污染，应当以改善大气环境质量为目标", doc="law"),
    ]
    views = parties.party_views(records)
    a = views["a"]
    assert a.source == "plan-subject" and a.canonical == ("各级人民政府",) and a.stated
    assert a.label == "各级人民政府（规划实施主体（继承））"
    assert a.citation == "各级人民政府是规划实施的主体，应突出环保规划的基础作用。"
    assert views["c"].label == "排污单位" and views["c"].source == "explicit"
    assert views["d"].source == "none" and views["d"].label == "未明确" and not views["d"].stated
    html = web_register.party_detail_html(records[0], views)
    assert "规划实施主体（继承）" in html and "是规划实施的主体" in html
    # the row's detail names the same party as its table cell, never 未明确 above an inherited party
    detail = web_register.obligation_detail_html(records[0], web_register.party_cell(records[0], views))
    assert "<dt>责任主体</dt><dd>各级人民政府（规划实施主体（继承））</dd>" in detail and "未明确" not in detail
    # filters: canonical party and place
    assert [ob.ob_id for ob in web_register.apply_filters(records, views, "各级人民政府", None)] == ["a", "b"]
    assert [ob.ob_id for ob in web_register.apply_filters(records, views, None, "乌鲁木齐市")] == ["a"]
    assert [ob.ob_id for ob in web_register.apply_filters(records, views, None, "北疆")] == ["a"]
    choices = web_register.party_choices(records, views)
    assert choices[0] == ("全部", "全部") and ("各级人民政府（2）", "各级人民政府") in choices


def test_escaped_party_detail() -> None:
    ob = _ob("x", "<img src=x onerror=alert(1)>单位", "explicit", "<b>单位</b>应当")
    views = parties.party_views([ob])
    assert "<img" not in web_register.party_detail_html(ob, views)


def test_2017_tasks_have_a_stated_or_inherited_party(knowledge_base) -> None:
    register = knowledge_base.register
    views = parties.register_party_views(register)
    dated_2017 = [ob for ob in register.records if ob.year == 2017 and ob.deadline_date]
    stated = [ob for ob in dated_2017 if views[ob.ob_id].stated]
    before = [ob for ob in dated_2017 if ob.party != "未明确"]
    assert len(dated_2017) >= 10
    assert len(stated) / len(dated_2017) >= 0.9, (len(stated), len(dated_2017), len(before))
    for ob in stated:
        view = views[ob.ob_id]
        assert view.source != "plan-subject" or "是规划实施的主体" in view.citation
    # every dated task of the register, not only 2017's
    dated = [ob for ob in register.records if ob.deadline_date]
    assert sum(views[ob.ob_id].stated for ob in dated) / len(dated) >= 0.9
    # the canonical list is short
    counts = parties.party_counts(register.records, views)
    assert len(counts) <= 10 and counts["其他"] <= 5
