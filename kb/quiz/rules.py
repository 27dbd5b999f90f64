"""Named rules of the quiz: what makes a fair item (what is worth asking is :mod:`kb.quiz.worth`).

Item checks (an item failing one is not made):

- ``rule_same_kind``: distractors are of the key's kind (government / department / enterprise / individual;
  deadline; amount with the key's unit; duration with the key's unit …), none overlaps the key, and none carries a
  situation the key lacks (移出地…: a transfer between provinces);
- ``rule_key_not_in_stem``: no content word of the key (two characters or more outside the generic words of
  party names) occurs in the stem;
- ``rule_blank_key_short``: a fill-in key has at most ``MAX_BLANK_CHARS`` characters (longer ones make mcq);
- ``rule_blank_asks_substance``: a fill-in asks what only one answer fits: never a modal word (不得 / 不应 / 禁止
  all read well), a level of government (地方人民政府 / 县级以上地方人民政府 …), a 责令 measure (责令改正 /
  限期改正) or a "YYYY年前" deadline (by that year, or before it?);
- ``rule_options_balanced``: the key of an mcq is neither far longer nor far shorter than every distractor (the
  one long, specific option gives itself away);
- ``rule_mcq_asks_a_choice``: no mcq on a modal word (禁止 is guessed among 限制 / 经批准后可以), nor on a plan
  deadline whose year has no plan year on one side (2020: the odd one out among earlier years; 2017, the year the
  plan was issued: the odd one out among later ones);
- ``rule_plausible_number``: a number distractor is within a factor of three of the key; a 责令 measure's
  distractors come from its own family (production, construction, equipment, land);
- ``rule_deadline_years``: deadline options are distinct years, written in the key's form, taken from the years
  around the key from the plan's issue year (2017) to its end, on both sides of it (so in-between years appear,
  the end year is not the odd one out and the key is not always the earliest);
- ``rule_document_not_given_away``: a filed document is not asked where the stem names it (《排污许可管理条例》
  for 排污许可证), says every word that tells it from its family ("实施土壤污染风险评估活动，应当编制____"), or
  its sibling stands next to the blank (____、环境影响报告表);
- ``rule_party_statement_complete``: a party is asked only in a sentence that says what it must do (not
  "____应当加强指导、督促");
- ``rule_near_miss``: a false statement swaps the key for a value of the same kind (same party category and
  level family, same unit, same modal family), and never the modal of a proviso (但是，不得…: swapped, it
  contradicts itself) or one that opens its sentence (禁止任何单位…: swapped, it is no sentence); a body's swap
  stays in the key's administration (a level changes, not the system);
- ``rule_ban_swappable``: no false statement of a ban on an act unlawful in itself, a ban inside a penalty clause,
  or a 不得 before a bound (不得少于5年).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from indexing.tokenize import cut_words
from kb.quiz.bodies import (
    ACTOR_SUFFIX,
    UPPER_LEVELS,
    admin_level,
    asks_body,
    bare,
    content_words,
    enumerates,
    other_system,
    party_kind,
)
from kb.quiz.grading import arabic
from kb.quiz.model import norm_text, sentence_bounds
from kb.quiz.vocabulary import vocab

MAX_BLANK_CHARS = 12
PLAN_PERIOD = ("十三五", 2016, 2020)  # the plan's five-year period and its years
PLAN_ISSUE_YEAR = 2017  # 新环发〔2017〕124号: a false statement never dates a task before the plan itself


def amount_form(value: str) -> tuple[str, str, str]:
    """(range | cap, 元 | 倍, numerals: chinese | arabic | arabic with 千) of a fine: "5千元以上2万元以下" is written
    unlike "100元以上5000元以下" (review r13)."""
    v = norm_text(value)
    numerals = "arabic with 千" if re.search(r"\d千", v) else "arabic" if re.search(r"\d", v) else "chinese"
    return ("range" if "以上" in v else "cap", "倍" if "倍" in v else "元", numerals)


def rule_same_kind(fact, candidate: str) -> bool:
    """A distractor is of the key's kind: party kind, deadline form, amount form, duration unit, numeral style."""
    t, key = fact.fact_type, fact.value
    if asks_body(fact):
        # 环境保护主管部门 (the older laws' name) among 生态环境主管部门 options, or the reverse, gives the key away
        era = [("环境保护" in x, "生态环境" in x) for x in (key, candidate)]
        if any(era[0]) and any(era[1]) and era[0] != era[1]:
            return False
        if any(body in candidate for body in vocab()["outside_bodies"]):
            return False  # nor is a body outside the environmental administration offered (rule_environment_duty)
        if enumerates(candidate) and not enumerates(key):
            return False  # "住房城乡建设、市容环境卫生、交通运输等有关部门" among single bodies is the odd one out
        if any(q in candidate and q not in key for q in vocab()["situational_qualifiers"]):
            return False  # 移出地…生态环境主管部门 belongs to a transfer between provinces, not to this article
        if re.match(r"负责.+的", norm_text(candidate)) and not re.match(r"负责.+的", norm_text(key)):
            return False  # "负责监督管理扬尘污染防治的主管部门" carries its own field (review r14)
        if party_kind(key) == "dept" and bare(key) != bare(candidate):
            return False  # a bare 环境保护主管部门 among 县级以上地方人民政府… options is the odd one out (review r13),
            # and so is a bare 公安机关交通管理部门 among 国务院… ones (review r15)
        return party_kind(candidate) == party_kind(key) != "other"
    if t == "penalty" and fact.subtype == "amount":
        return amount_form(candidate) == amount_form(key)
    if t == "penalty" and fact.subtype == "order":  # 退还土地 is no alternative to 停业、关闭
        return any(key in fam and candidate in fam for fam in vocab()["order_measure_families"])
    if t == "number":
        if norm_text(candidate).startswith("劣") and not norm_text(key).startswith("劣"):
            return False  # no improvement unit is aimed at 劣Ⅴ类 (review r16): false at a glance
        return rule_plausible_number(key, candidate)
    if t == "permit" and fact.subtype == "document":
        return any(key in fam and candidate in fam for fam in vocab()["filed_document_families"])
    if t == "period":
        unit = re.sub(r"^[零〇一二三四五六七八九十百千万两\d.]+", "", key)
        same_style = bool(re.search(r"\d", candidate)) == bool(re.search(r"\d", key))
        return candidate.endswith(unit) and same_style
    return True


PLAUSIBLE_RATIO = 3.0  # a number distractor is within this factor of the key (18.8% is no option for 5.6%)


def rule_not_in_article(fact, candidate: str) -> bool:
    """A distractor the cited article names in another paragraph (``fact.context``) is no sure wrong answer: that
    paragraph may make it right (a law empowers several departments, each in its own paragraph of one article)."""
    return not (fact.context and norm_text(candidate) in norm_text(fact.context))


def rule_plausible_number(key: str, candidate: str) -> bool:
    """A number distractor is of the key's order: at most PLAUSIBLE_RATIO times larger or smaller, and not 0 for a
    key that is not."""
    a, b = (re.search(r"\d+(?:\.\d+)?", norm_text(x)) for x in (key, candidate))
    if a and b and float(b.group(0)) <= 0 < float(a.group(0)):
        return False  # "森林覆盖率提高到0%" (review r14)
    if not (a and b) or float(a.group(0)) <= 0:
        return True
    x, y = float(a.group(0)), float(b.group(0))
    return max(x, y) / min(x, y) <= PLAUSIBLE_RATIO


def rule_mcq_asks_a_choice(fact) -> bool:
    """An mcq is made only where four options are a real choice: never for a modal word (禁止 among 限制 / 严格控制
    / 经批准后可以 is guessed by common sense; true/false asks it), and for a plan deadline only when the key year
    has plan years on both sides, from the plan's issue year on (a 2020 key among earlier years is the odd one out,
    and so is a 2017 key among later ones: review r13 met six)."""
    if fact.fact_type == "ban":
        return False
    if fact.fact_type == "deadline" and fact.doc_kind == "plan":
        years = re.findall(r"(?:19|20)\d\d", fact.value)
        return bool(years) and PLAN_ISSUE_YEAR < int(years[0]) < PLAN_PERIOD[2]
    return True


def rule_no_overlap(key: str, candidate: str) -> bool:
    """Neither of key and distractor contains the other (建设单位 / 建设单位和施工单位), also once 等 is dropped
    (生态环境等主管部门 includes 生态环境主管部门), nor, for actors, once their suffix is dropped (机动车维修单位 is
    one of the 从事…机动车维修等服务活动的经营者)."""
    a, b = norm_text(key), norm_text(candidate)
    na, nb = (re.fullmatch(r"[≤≥<>]?(\d+(?:\.\d+)?)[^\d]*", x) for x in (a, b))
    if na and nb:
        return float(na.group(1)) != float(nb.group(1))
    a2, b2 = a.replace("等", ""), b.replace("等", "")
    if not (a and b and a not in b and b not in a and a2 not in b2 and b2 not in a2):
        return False
    if {party_kind(a), party_kind(b)} & {"enterprise", "individual"}:
        # 机动车维修单位 is one of the 从事服装干洗和机动车维修等服务活动的经营者
        ca, cb = (ACTOR_SUFFIX.sub("", x) for x in (a, b))
        return not ((len(ca) >= MIN_CORE and ca in b) or (len(cb) >= MIN_CORE and cb in a))
    return True


MIN_CORE = 4  # characters of an actor's name without its suffix that make it one of a longer name's kind


def rule_key_not_in_stem(fact, stem: str) -> bool:
    """No content word of a party key (any two characters of it) appears in the stem (施工工地 → 施工单位)."""
    if fact.fact_type not in ("party", "permit") or (fact.fact_type == "permit" and fact.subtype != "who"):
        return True
    s = norm_text(stem)
    for word in content_words(fact.value):
        if any(word[i:i + 2] in s for i in range(len(word) - 1)):
            return False
    return True


def rule_document_not_given_away(fact, stem: str) -> bool:
    """A filed document is not named by the stem (排污许可 in 《排污许可管理条例》 for 排污许可证), nor does a
    sibling of its family stand in the stem (____、环境影响报告表 asks 环境影响报告书)."""
    if fact.fact_type != "permit" or fact.subtype != "document":
        return True
    s, key = norm_text(stem), norm_text(fact.value)
    if len(key) >= 4 and key[:-1] in s:
        return False
    family = next((f for f in vocab()["filed_document_families"] if fact.value in f), [])
    if any(other != fact.value and norm_text(other) in s for other in family):
        return False
    own = distinguishing_words(fact.value, family)
    return not (own and all(w in s for w in own))


_DOC_TYPE = re.compile(r"(?:报告书|报告表|登记表|申请表|报告|文件|计划|预案)$")


def distinguishing_words(document: str, family: Iterable[str] = ()) -> list[str]:
    """The words that tell a document from its family's others, its type word left out ("排污许可证申请表" ->
    排污许可证, 申请; "土壤污染风险评估报告" beside 土壤污染状况调查报告 -> 风险, 评估): a stem holding all of them
    says the key."""
    def words(doc: str) -> list[str]:
        return [w for w in cut_words(_DOC_TYPE.sub("", norm_text(doc))) if len(w) >= 2]

    shared = {w for other in family if other != document for w in words(other)}
    return [w for w in words(document) if w not in shared]


MIN_PARTY_STATEMENT = 14  # characters besides the party: "____应当加强指导、督促" says too little to ask who


def rule_party_statement_complete(fact) -> bool:
    """A party is asked only in a sentence long enough to say what it must do."""
    if not asks_body(fact):
        return True
    text = norm_text(fact.statement or fact.citation.passage)
    return len(text) - len(norm_text(fact.value)) >= MIN_PARTY_STATEMENT


def rule_blank_key_short(key: str) -> bool:
    """A fill-in key is short enough to type: at most MAX_BLANK_CHARS characters."""
    return len(norm_text(key)) <= MAX_BLANK_CHARS


def rule_blank_asks_substance(fact) -> bool:
    """A fill-in asks what only one answer fits: no modal word, level of government, body of several parts
    (…和…), 责令 measure or "YYYY年前"."""
    t = fact.fact_type
    if t == "ban" or (t == "penalty" and fact.subtype == "order"):
        return False
    if t in ("party", "permit") and party_kind(fact.value) == "gov":
        return False
    if asks_body(fact) and re.search(r"和|或者|、|及", norm_text(fact.value).replace("省、自治区、直辖市", "")):
        return False  # "燃煤电厂和其他燃煤单位" (review r14): 燃煤电厂 or 燃煤单位 typed is half right
    return not (t == "deadline" and re.search(r"\d年前$", norm_text(fact.value)))


_BODY = re.compile(r"[\u4e00-\u9fff]{2,20}?(?:部门|人民政府|国务院|机关|机构|单位|企业)")


def rule_blank_party_unique(fact) -> bool:
    """A body is a fill-in only when the cited article's other paragraphs name no other body: one paragraph may give
    the provincial government the duty another gives the operator (核安全法第六十六条), and then either answer has a
    basis. An mcq asks it instead, without that body among the options (:func:`rule_not_in_article`)."""
    if not asks_body(fact):
        return True
    key = norm_text(fact.value)
    return not any(b not in key and key not in b for b in _BODY.findall(norm_text(fact.context)))


BALANCE = 1.6  # how much longer (or shorter) than every distractor an mcq key may be


def rule_options_balanced(key: str, wrong: list[str]) -> bool:
    """The key is at most BALANCE times longer than the longest distractor, and at most BALANCE times shorter than
    the shortest."""
    lengths = [len(norm_text(w)) for w in wrong]
    k = len(norm_text(key))
    return bool(lengths) and k <= BALANCE * max(lengths) and k * BALANCE >= min(lengths)


def rule_blank_not_end_year(fact) -> bool:
    """A deadline in the plan's end year is no fill-in (the blank could only be 2020); mcq and judge ask it."""
    return not (fact.fact_type == "deadline" and fact.year == str(PLAN_PERIOD[2]))


def deadline_years(key_year: int, passage_years: set[int], rng, k: int = 3) -> list[int]:
    """Distractor years for a deadline: distinct, from the plan's issue year to its end, nearest first, never the
    key's year (a year before the plan was issued is ruled out by anyone who knows its date: review r13)."""
    _, _, last = PLAN_PERIOD
    first = PLAN_ISSUE_YEAR
    lo, hi = min(first + 1, key_year), max(last, key_year)
    # Only years of the plan period: a 2021 option beside 2017–2019 is the odd one out (fewer than k: no mcq).
    pool = [y for y in range(lo - 1, hi + 2) if y != key_year and y not in passage_years and first <= y <= last]
    rng.shuffle(pool)
    # Nearest years first, on both sides of the key: always taking later years makes the earliest option the key.
    pool.sort(key=lambda y: abs(y - key_year) > 2)
    return sorted(pool[:k])


def rule_ban_swappable(fact) -> bool:
    """Whether a ban can be made a fair false statement at all: not one on an act unlawful in itself ("经批准后可以
    超过标准排放", review r13), not one inside a penalty clause, where it names where the offence happens ("在经批准后
    可以使用…的区域使用…的，予以处罚", review r16), and not a 不得 before a bound ("保存期限可以少于5年", review r14:
    the period item asks the number)."""
    statement = norm_text(fact.statement)
    if any(m in statement for m in vocab()["unlawful_acts"]) or re.search(r"处罚|罚款", statement):
        return False
    return not re.match(r"(?:少于|多于|超过|低于|高于)", statement[statement.find(fact.value) + len(fact.value):])


def rule_near_miss(fact, swap: str) -> bool:
    """A false statement's swap is of the key's kind and does not name more parties than the key."""
    if not rule_same_kind(fact, swap) or not rule_no_overlap(fact.value, swap):
        return False
    if fact.fact_type == "deadline":
        years = re.findall(r"(?:19|20)\d\d", swap)
        if fact.doc_kind == "plan" and years and int(years[0]) < PLAN_ISSUE_YEAR:
            return False  # "2016年前完成" in a plan issued in 2017 is false on its face
        if years and not rule_years_in_order(fact, int(years[0])):
            return False
    if not rule_swap_not_implied(fact, swap) or not rule_files_upward(fact, swap):
        return False
    if fact.fact_type == "penalty" and fact.subtype == "order" and re.search(
            r"批准[，,]?(?:责令)?$", norm_text(fact.statement).split(norm_text(fact.value))[0]):
        return False  # only 停业、关闭 waits for 报经有批准权的人民政府批准: a lighter measure there is plainly false
    if fact.fact_type == "ban":
        statement = norm_text(fact.statement)
        if re.search(r"但(?:是)?[，,]?" + re.escape(fact.value), statement):
            return False  # a proviso's modal (但是，不得免除…) swapped reads as a contradiction, not a near miss
        if statement.startswith(fact.value):
            return False  # 禁止任何单位… has no subject: "经批准后可以任何单位…" is no sentence

    if asks_body(fact):
        if other_system(fact.value, swap):
            return False  # 公安机关交通管理部门 for …生态环境主管部门 (reviews r12, r15): false on its face
        if party_kind(fact.value) == "gov" and set(content_words(swap)) - set(content_words(fact.value)):
            return False  # 沙化土地所在地区的县级人民政府 for 省级以上人民政府: a qualifier that gives it away
        return ("、" in swap or "和" in swap) <= ("、" in fact.value or "和" in fact.value)
    return True


_LOWER_BOUND = re.compile(r"以上|不低于|不少于|至少|达到|超过")
_CAP = re.compile(r"不超过|以下|以内|内|不高于|控制在")


def _size(text: str) -> float | None:
    """The first number of a value (Chinese numerals read), or its year for a deadline."""
    m = re.search(r"\d+(?:\.\d+)?", arabic(norm_text(text)))
    return float(m.group(0)) if m else None


def rule_swap_not_implied(fact, swap: str) -> bool:
    """A false statement is not implied by the true one: a bound is moved where the text does not reach. A deadline
    ("2017年底前", "到2020年") is moved earlier (done by 2017 is done by 2018); a floor ("达到75%以上", "不少于三年")
    is raised; a time limit to act ("30日内") is shortened; a cap on what may be granted ("可以享有不超过七十年") is
    raised. Values without a bound (a fine's range, a table figure) may move either way."""
    key, new = _size(fact.value), _size(swap)
    if key is None or new is None or key == new:
        return True
    if fact.fact_type == "deadline":
        return new < key
    statement = norm_text(fact.statement or fact.citation.passage)
    value = norm_text(fact.value)
    at = statement.find(value)
    around = value if at < 0 else statement[max(0, at - 4):at + len(value) + 3]
    if "以上" in value and "以下" in value:
        return True
    if _LOWER_BOUND.search(around):
        return new > key
    if _CAP.search(around):
        return new > key if "可以" in statement[max(0, at - 20):at] else new < key
    return True


def rule_years_in_order(fact, year: int) -> bool:
    """A swapped year keeps the order of its sentence's milestones: "2018年底中期评估，2020年底终期考核" swapped to a
    终期考核 in 2017 is false on its face. The swap is no earlier than a year before the key in its sentence and no
    later than one after it."""
    passage = norm_text(fact.citation.passage)
    at = passage.find(norm_text(fact.value))
    if at < 0:
        return True
    start, end = sentence_bounds(passage, at)
    before = [int(y) for y in re.findall(r"(?:19|20)\d\d", passage[start:at])]
    after = [int(y) for y in re.findall(r"(?:19|20)\d\d", passage[at + len(norm_text(fact.value)):end])]
    return all(year >= y for y in before) and all(year <= y for y in after)


_RANK = {"国务院": 4, "省级": 3, "市级": 2, "县级": 1}


def rule_files_upward(fact, candidate: str) -> bool:
    """A body that a report is filed with or approved by (报…备案, 报…批准) sits above the body that files: a
    province filing with its own or a lower department ("省、自治区、直辖市人民政府…报当地生态环境主管部门备案") is
    plainly wrong, so no such option or swap."""
    statement = norm_text(fact.statement or fact.citation.passage)
    if not asks_body(fact) or not re.search(r"备案|批准", statement):
        return True
    filer, level = admin_level(statement), admin_level(candidate)
    return filer is None or level is None or _RANK[level] > _RANK[filer]


def rule_level_not_unique(key: str, wrong: Iterable[str]) -> bool:
    """A 国务院 or provincial key is not the only option at its level: among local bodies the one upper body is
    picked by rank alone ("会同国务院卫生行政部门…公布" asks for a 国务院 department); a 国务院 key has only 国务院
    options (review r16: "会同国务院卫生主管部门" rules out 县级以上地方 ones at once)."""
    level = admin_level(key)
    wrong = list(wrong)
    if level == "国务院":
        return all(admin_level(w) == level for w in wrong)
    return level not in UPPER_LEVELS or any(admin_level(w) == level for w in wrong)


def pick_distractors(fact, ordered: Iterable[str], k: int, ok: Callable[[Any, str, list[str]], bool],
                     near_miss: bool = False) -> list[str]:
    """The first ``k`` distinct candidates of ``ordered`` that ``ok(fact, candidate, picked)`` accepts; with
    ``near_miss`` only those fit for a false true/false statement (:func:`rule_near_miss`). A body's last option
    gives way to one at the key's level when :func:`rule_level_not_unique` fails and such a candidate exists."""
    ordered = list(ordered)
    if not near_miss and asks_body(fact) and admin_level(fact.value) == "国务院":
        ordered = [c for c in ordered if admin_level(c) == "国务院"]  # fewer than k: no mcq (rule_level_not_unique)
    chosen: list[str] = []
    for c in ordered:
        if len(chosen) >= k:
            break
        if c not in chosen and ok(fact, c, chosen) and (not near_miss or rule_near_miss(fact, c)):
            chosen.append(c)
    if near_miss or not chosen or not asks_body(fact) or rule_level_not_unique(fact.value, chosen):
        return chosen
    level = admin_level(fact.value)
    for c in ordered:
        if c not in chosen and admin_level(c) == level and ok(fact, c, chosen[:-1]):
            return [*chosen[:-1], c]
    return chosen
