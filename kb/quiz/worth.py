"""What is worth asking: the named rules a fact passes before any item is made on it (the item checks are
in :mod:`kb.quiz.rules`).

A fact is dropped unless every rule lets it through:

- ``rule_plan_number_worth``: from the plan, only 2020 targets and reductions (下降/降低/削减…) over the 2015
  baseline are asked; 2015 baselines and results are not;
- ``rule_review_period``: rows of the 十二五 review table (专栏1: the last plan's targets and 2015 results) only
  with ``period="12th"``, and then only those;
- ``rule_not_catch_all``: no sentence addressed to everyone (各级政府和企事业单位要…, 任何单位和个人…);
- ``rule_self_contained``: no passage that leans on text it does not carry (前款, 上述, a list item without its
  lead-in, a sentence starting with 其中/同时);
- ``rule_environment_duty``: no duty that bodies outside the environmental administration enforce or owe (the
  army, maritime and railway authorities …), none of a party only the national regulator supervises (核设施营运单位),
  and no civil liability (赔偿损失: a court's matter): an environmental official is not examined on them;
- ``rule_plan_section_sets_tasks``: no plan fact from the sections on running the plan itself (项目实施, 保障措施:
  its mid-term review date), and no deadline from its goals section (there "到2020年" is the plan's own period);
- ``rule_local_time_limit``: no time limit that binds a State Council department (核安全许可 within 二十日 of the
  technical review): internal procedure of a national authority;
- ``rule_specific_key``: no key that stands for a family (环境影响评价文件 covers 报告书; 责令停止违法行为 and 限期改正
  come with every penalty);
- ``rule_concrete_duty``: a party only for a duty with content (not "应当加强…");
- ``rule_own_indicator``: no plan figure of another administration's indicator (森林覆盖率);
- ``rule_closed_party``: no party key that is an open list ("住房城乡建设、市容环境卫生…等有关部门"): any other
  department could be one of the 等.
"""

from __future__ import annotations

import re

from kb.quiz.bodies import asks_body, enumerates
from kb.quiz.model import norm_text, sentence_bounds
from kb.quiz.vocabulary import vocab

_REDUCTION = ("下降", "降低", "减少", "削减", "增长")
_DEPENDENT_START = re.compile(r"^(?:其中|同时|此外|另外|并|上述|该|其|前款|以上|对此)")
_DEPENDENT_ANY = re.compile(r"前款|前两款|前三款|上述|前述")


def rule_plan_number_worth(fact) -> bool:
    """Plan numbers: 2020 targets and reductions over the 2015 baseline; never a baseline or a past result."""
    if fact.fact_type != "number" or fact.doc_kind != "plan":
        return True
    if fact.table:
        return fact.period == "12th" or ("目标" in fact.subject and "2015" not in fact.subject)
    if fact.subtype == "reduction" and not re.search(r"(?:19|20)\d\d", fact.citation.passage):
        return False  # 万元GDP用水量下降33%: a fall from when to when?
    return fact.subtype in ("target-2020", "reduction")


def rule_review_period(fact, period: str | None) -> bool:
    """The 十二五 review rows (专栏1) only with period "12th", and then nothing else."""
    if period == "12th":
        return fact.period == "12th"
    return fact.period != "12th"


def rule_not_catch_all(fact) -> bool:
    """No plan sentence addressed to everyone (各级政府和企事业单位要…), no catch-all party as a key."""
    head = norm_text(fact.citation.passage)[:14]
    subjects = vocab()["catch_all_subjects"]
    if fact.doc_kind == "plan" and any(head.startswith(s) or f"，{s}" in head for s in subjects):
        return False
    return not (fact.fact_type in ("party", "permit") and norm_text(fact.value) in subjects)


def rule_self_contained(fact) -> bool:
    """The asked text carries what it refers to: no 前款/上述 without the lead-in, no 其中/同时 opening."""
    text = norm_text(fact.statement or fact.citation.passage)
    if fact.statement and fact.fact_type != "party":  # law facts carry their lead-in already (kb.quiz.facts_law)
        return not text.endswith(("：", ":"))
    return not (_DEPENDENT_START.match(text) or _DEPENDENT_ANY.search(text) or text.endswith(("：", ":")))


def rule_environment_duty(fact) -> bool:
    """No duty owed to or enforced by bodies outside the environmental administration (军队, 海事, 铁路 …), no
    penalty that such a body imposes ("由…林业草原主管部门…处…罚款": not what environmental officials enforce), and
    no civil liability ("给购买者造成损失的，销售者应当赔偿损失")."""
    text = norm_text(fact.statement or fact.citation.passage)
    if any(body in text for body in vocab()["outside_bodies"]) or any(d in text for d in vocab()["civil_duties"]):
        return False
    if any(p in text for p in vocab()["nationally_supervised"]):
        return False  # 核设施营运单位 duties and terms (reviews r11, r14, r16): the national regulator's business
    if fact.fact_type == "period" and any(m in text for m in vocab()["outside_matters"]):
        return False  # 治沙 land "不超过七十年的土地使用权" (reviews r13, r15): land administration's term
    enforcers = "|".join(map(re.escape, vocab()["outside_enforcers"]))
    return not (fact.fact_type == "penalty" and re.search(rf"由[^，。；]*(?:{enforcers})", text))


def rule_binding(fact) -> bool:
    """A plan fact that a sentence only encourages (鼓励, 支持, 倡导, 引导 … before it: "鼓励开展生态工业示范园区建设，
    …到2020年，创建1-2个") sets no task to ask about."""
    text = norm_text(fact.statement or fact.citation.passage)
    at = text.find(norm_text(fact.value))
    before = text[sentence_bounds(text, at)[0]:at] if at >= 0 else text
    return fact.doc_kind != "plan" or not any(v in before for v in vocab()["advocacy_verbs"])


def rule_plan_section_sets_tasks(fact) -> bool:
    """No plan fact from the sections on running the plan (项目实施, 保障措施), nor a deadline from its goals
    section, where "到2020年" restates the plan's own period."""
    if fact.doc_kind != "plan":
        return True
    path = fact.citation.section.split(" > ")
    if any(p in vocab()["plan_procedure_sections"] for p in path):
        return False
    return not (fact.fact_type == "deadline" and any(p in vocab()["plan_goal_sections"] for p in path))


def rule_local_time_limit(fact) -> bool:
    """No time limit whose sentence binds a State Council department: its internal procedure."""
    if fact.fact_type != "period":
        return True
    text = norm_text(fact.statement or fact.citation.passage)
    at = text.find(norm_text(fact.value))
    return not text[sentence_bounds(text, at)[0]:].startswith("国务院")


def rule_specific_key(fact) -> bool:
    """No key that stands for a whole family: a document that covers others (环境影响评价文件: 报告书 fits the blank
    too, review r13) or an order every penalty article gives (责令停止违法行为, 限期改正: the fine is the point)."""
    if fact.fact_type == "permit" and fact.subtype == "document":
        return fact.value not in vocab()["umbrella_documents"]
    return not (fact.fact_type == "penalty" and fact.subtype == "order" and fact.value in vocab()["generic_orders"])


def rule_concrete_duty(fact) -> bool:
    """A party is asked only for a duty with content: not "…应当加强…管理" (an effort verb right after 应当: review
    r14 judged 城市人民政府应当加强并改善城市交通管理 not worth asking)."""
    if fact.fact_type != "party":
        return True
    text = norm_text(fact.statement or fact.citation.passage)
    after = text[text.find(norm_text(fact.value)) + len(norm_text(fact.value)):]
    verbs = "|".join(vocab()["effort_verbs"])
    return not re.match(rf"[^，。；]{{0,4}}?应当(?:依法)?(?:{verbs})", after)


def rule_own_indicator(fact) -> bool:
    """No plan figure of an indicator another administration owns (森林覆盖率, 森林蓄积量: forestry's)."""
    text = norm_text(fact.subject or fact.statement or fact.citation.passage)
    at = text.find(norm_text(fact.value))
    near = text[max(0, at - 12):at] if at >= 0 else text
    return fact.fact_type != "number" or not any(i in near for i in vocab()["outside_indicators"])


def rule_closed_party(fact) -> bool:
    """No body key that is an open list of departments (…、…等有关部门): the 等 leaves room for any other."""
    return not (asks_body(fact) and enumerates(fact.value) and "等" in fact.value)


def worth_asking(fact, period: str | None = None) -> bool:
    """Whether every worth-asking rule lets the fact through."""
    return (rule_plan_number_worth(fact) and rule_review_period(fact, period) and rule_not_catch_all(fact)
            and rule_self_contained(fact) and rule_environment_duty(fact) and rule_binding(fact)
            and rule_plan_section_sets_tasks(fact) and rule_local_time_limit(fact) and rule_closed_party(fact)
            and rule_specific_key(fact) and rule_concrete_duty(fact) and rule_own_indicator(fact))
