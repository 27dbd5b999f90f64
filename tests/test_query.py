"""Query normalisation and question validation (pure functions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.ask.query import (
    ALIASES,
    ENTITY_PATTERN,
    cn_to_int,
    fold_for_match,
    fold_pm,
    int_to_cn,
    load_lexicon,
    normalize_query,
    to_halfwidth,
    validate_question,
)
from kb.textclean import clean_text


def test_fullwidth_ascii_folds_but_chinese_punctuation_stays() -> None:
    assert to_halfwidth("ＡＢＣ１２３％，（一）？") == "ABC123%，（一）？"
    assert to_halfwidth("排放\u3000标准") == "排放 标准"
    assert normalize_query("ＣＯＤ排放量下降１０％？").text == "COD排放量下降10%？"


@pytest.mark.parametrize(
    ("question", "text", "years"),
    [
        ("二〇二〇年秸秆收集利用率", "2020年秸秆收集利用率", [2020]),
        ("二零一七年底前要完成什么", "2017年底前要完成什么", [2017]),
        ("二零一七", "2017", [2017]),
        ("一九八九年发布的条例", "1989年发布的条例", [1989]),
        ("三大战役和十条措施", "三大战役和十条措施", []),  # counts that are names stay as written
    ],
)
def test_chinese_numeral_years(question: str, text: str, years: list[int]) -> None:
    nq = normalize_query(question)
    assert nq.text == text
    assert nq.years == years


@pytest.mark.parametrize(
    "spelling", ["PM2.5", "PM 2.5", "pm2.5", "ＰＭ２.５", "ＰＭ２．５", "PM_{2.5}", "PM _{2.5}", "Pm 2 . 5"]
)
def test_pm25_spellings(spelling: str) -> None:
    nq = normalize_query(f"{spelling}浓度要下降多少")
    assert nq.text == "PM2.5浓度要下降多少"
    assert "细颗粒物" in nq.expansions
    assert nq.alternates["PM2.5"] == ("细颗粒物",)


def test_fine_particles_alias_goes_both_ways() -> None:
    nq = normalize_query("细颗粒物浓度")
    assert nq.text == "细颗粒物浓度" and nq.expansions == ["PM2.5"]
    assert normalize_query("PM10和可吸入颗粒物").expansions == []  # both forms already there
    assert fold_pm("细颗粒（PM _{2.5} ）") == "细颗粒（PM2.5 ）"


@pytest.mark.parametrize(
    ("question", "text", "expansion"),
    [
        ("乌市空气质量", "乌鲁木齐市空气质量", "乌市"),
        ("排污证怎么办", "排污许可证怎么办", "排污证"),
        ("烧煤的锅炉要淘汰吗", "燃煤锅炉要淘汰吗", "烧煤的锅炉"),
        ("污水厂污泥", "污水处理厂污泥", "污水厂"),
        ("环评文件", "环境影响评价文件", "环评"),
        ("兵团的环保工作", "新疆生产建设兵团的环保工作", "兵团"),
        ("危废处置", "危险废物处置", "危废"),
    ],
)
def test_aliases(question: str, text: str, expansion: str) -> None:
    nq = normalize_query(question)
    assert nq.text == text
    assert expansion in nq.expansions


def test_alias_inside_its_canonical_form_is_left_alone() -> None:
    assert normalize_query("新疆生产建设兵团").text == "新疆生产建设兵团"
    assert normalize_query("新疆生产建设兵团").expansions == []
    assert normalize_query("“十三五”期间").text == "“十三五”期间"
    assert normalize_query("“十三五”期间").expansions == []


def test_alias_table_maps_to_different_forms() -> None:
    assert all(k != v and v for k, v in ALIASES.items())


def test_plan_period_quotes_and_years() -> None:
    nq = normalize_query("十三五期间森林覆盖率")
    assert nq.text == "“十三五”期间森林覆盖率"
    assert nq.years == [2016, 2017, 2018, 2019, 2020]
    assert normalize_query("十三五末和2021年").years == [2016, 2017, 2018, 2019, 2020, 2021]


def test_article_numbers_follow_the_laws_convention() -> None:
    assert normalize_query("环评法第10条").text == "环境影响评价法第十条"
    assert normalize_query("第 21 条").text == "第二十一条"
    assert normalize_query("第105条").text == "第一百零五条"


def test_durations_offer_the_chinese_numeral_form() -> None:
    nq = normalize_query("审批部门收到报告书后60日内作出决定")
    assert nq.text == "审批部门收到报告书后60日内作出决定"
    assert "六十日" in nq.expansions


def test_quality_classes_match_in_either_script() -> None:
    assert fold_for_match("好于Ⅱ级的天数") == fold_for_match("好于二级的天数") == fold_for_match("好于II级的天数")
    assert fold_for_match("优于Ⅲ类") == "优于三类"
    assert fold_for_match("劣Ⅴ类") == "劣五类"
    assert "Ⅲ类" in normalize_query("优于三类的断面比例").expansions


def test_law_name_before_a_particle_is_kept_whole() -> None:
    assert normalize_query("环境保护税法中的污染当量").text == "环境保护税法 中的污染当量"
    assert normalize_query("按照法律规定").text == "按照法律规定"


def test_control_characters_are_stripped() -> None:
    assert clean_text("秸秆\x00利用率\u200b\t要\n达到") == "秸秆利用率 要 达到"
    assert normalize_query("秸秆\x07利用率").text == "秸秆利用率"


@pytest.mark.parametrize(("numeral", "value"), [("二〇二〇", 2020), ("三十", 30), ("十", 10), ("一百零五", 105),
                                                ("六十", 60), ("两千", 2000), ("abc", None), ("", None)])
def test_cn_to_int(numeral: str, value: int | None) -> None:
    assert cn_to_int(numeral) == value


def test_int_to_cn() -> None:
    assert [int_to_cn(n) for n in (1, 10, 12, 20, 59, 100, 105, 110, 119)] == [
        "一", "十", "十二", "二十", "五十九", "一百", "一百零五", "一百一十", "一百一十九"]
    with pytest.raises(ValueError):
        int_to_cn(0)


def test_validate_question() -> None:
    assert validate_question("秸秆收集利用率要在哪年达到多少？", 500) is None
    assert validate_question("PM2.5", 500) is None
    assert validate_question("秸秆\x00利用率", 500) is None  # control characters are ignored, not an error
    assert "不能为空" in validate_question("", 500)
    assert "不能为空" in validate_question("  \t\n ", 500)
    assert "不能为空" in validate_question("\x00\x01", 500)
    too_long = validate_question("问" * 501, 500)
    assert "501" in too_long and "500" in too_long
    assert validate_question("问" * 500, 500) is None
    assert "标点" in validate_question("？？！！……", 500)
    assert "标点" in validate_question("😀🌏 ✨", 500)


def test_entity_pattern_swaps_places_pollutants_and_years() -> None:
    assert ENTITY_PATTERN.sub("伊宁市", "乌鲁木齐市PM2.5要下降多少？", count=1) == "伊宁市PM2.5要下降多少？"
    assert ENTITY_PATTERN.search("氮氧化物排放总量").group(0) == "氮氧化物"
    assert ENTITY_PATTERN.search("2017年底前").group(0) == "2017年"


# The colloquial lexicon (kb/vocab/lexicon.tsv): official wordings are the corpus' own, colloquial keys are not.
def _corpus_text() -> str:
    root = Path(__file__).resolve().parent.parent / "corpus"
    files = [*sorted((root / "laws").glob("*.md")), *sorted((root / "plan").glob("*.txt"))]
    return "\n".join(re.sub(r"\s", "", f.read_text(encoding="utf-8")) for f in files)


def test_lexicon_maps_words_the_corpus_lacks_to_words_it_has() -> None:
    lexicon = load_lexicon()
    assert len(lexicon) > 300
    corpus = _corpus_text()
    missing = [(k, f) for k, forms in lexicon.items() for f in forms if re.sub(r"\s", "", f) not in corpus]
    assert missing == []
    assert [k for k in lexicon if k in corpus] == []
    assert all(len(k) >= 2 for k in lexicon)


def test_lexicon_phrase_keeps_the_question_and_offers_official_wordings() -> None:
    nq = normalize_query("在自然保护区里放羊、打猎会被怎么处理？")
    assert nq.text == "在自然保护区里放羊、打猎会被怎么处理？"
    assert "放牧" in nq.phrases["放羊"] and "狩猎" in nq.phrases["打猎"]
    assert normalize_query("新疆生产建设兵团").phrases == {}  # never inside an official name


def test_lexicon_phrase_holding_an_alias_is_found_and_named_as_rewritten() -> None:
    """"交环保税" holds the alias 环保税: it is matched before the rewrite and keyed as the text now has it."""
    nq = normalize_query("企业交环保税怎么算？")
    assert nq.text == "企业交环境保护税怎么算？"
    assert "缴纳环境保护税" in nq.phrases["交环境保护税"]
    assert "交环保税" not in nq.phrases
