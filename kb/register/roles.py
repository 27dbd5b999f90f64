"""“我要遵守什么？”: the duties, prohibitions and penalties of the laws that apply to who you are.

Roles are data (``kb/vocab/roles.tsv``: 角色, 责任主体归类, 主体用语, 行为用语, 说明) read by :func:`load_roles`.
A duty of the register (a law or regulation sentence with 应当/必须/不得/禁止/严禁) applies to a role when
its party falls in one of the role's canonical groups (kb.register.parties), or its verbatim party names one of the
role's party words, or it names one of the role's action words and is either a prohibition with no party
(which binds everyone) or a duty of a stated party other than a government body. Penalties come from the
articles under 法律责任 that name the role's words and set a fine, detention, revocation or order. Every item
keeps its document, article and verbatim text; its one-line plain reading is cut from that text
(要…/不能…/违反的后果：…), never written freely.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.register.parties import PartyView, party_views
from kb.vocab import read_tsv, vocab_path

ROLES_PATH = vocab_path("roles.tsv")
GOVERNMENT = ("各级人民政府", "生态环境主管部门", "公安机关交通管理部门", "其他政府部门")
KIND_ORDER = ("禁止", "义务", "处罚")
_PROHIBIT = re.compile(r"不得|禁止|严禁")
_DUTY = re.compile(r"应当|必须|应(?![急用对变有该])")
_FINE = re.compile(r"处[^。；]{0,40}?(?:罚款|拘留)")
_PENALTY = re.compile(r"处[^。；]{0,40}?(?:罚款|拘留)|责令[^。；，]{2,30}|吊销[^。；，]{2,30}|没收[^。；，]{2,30}")
READING_CHARS = 48


@dataclass(frozen=True)
class Role:
    """Who the user is, and how a duty is recognised as theirs."""

    name: str
    groups: tuple[str, ...]
    party_words: tuple[str, ...]
    action_words: tuple[str, ...]
    note: str


@dataclass
class RoleItem:
    """One duty, prohibition or penalty that applies to a role, cited."""

    kind: str  # 禁止 | 义务 | 处罚
    topic: str
    reading: str
    text: str
    title: str
    article: str
    section: str
    doc_id: str
    start: int
    end: int


def _split(cell: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in (cell or "").split("|") if w.strip())


@lru_cache(maxsize=4)
def load_roles(path: Path = ROLES_PATH) -> tuple[Role, ...]:
    """The roles of ``roles.tsv`` in file order (comment lines start with #)."""
    rows = [r + [""] * (5 - len(r)) for r in read_tsv(path)[1:]]
    return tuple(Role(r[0], _split(r[1]), _split(r[2]), _split(r[3]), r[4]) for r in rows)


def find_role(name: str) -> Role | None:
    """The role called ``name`` (None when there is none)."""
    return next((r for r in load_roles() if r.name == name), None)


def _clip(text: str, n: int = READING_CHARS) -> str:
    text = " ".join(text.split()).strip("，,；;。 ")
    return text if len(text) <= n else text[: n - 1] + "…"


def plain_reading(kind: str, text: str) -> str:
    """A one-line plain reading cut from the verbatim text: 要…, 不能…, or 违反的后果：…."""
    if kind == "禁止":
        m = _PROHIBIT.search(text)
        return "不能" + _clip(text[m.end():] if m else text)
    if kind == "处罚":
        order = _PENALTY.search(text)
        fine = _FINE.search(text)
        parts = list(dict.fromkeys(m.group(0) for m in (order, fine) if m))
        return "违反的后果：" + _clip("，".join(parts) if parts else text)
    m = _DUTY.search(text)
    return "要" + _clip(text[m.end():] if m else text)


def _is_plan(title: str) -> bool:
    return (title or "").endswith("规划")


def applies(role: Role, ob: Any, view: PartyView | None) -> bool:
    """Whether a register record is a duty of this role (see the module docstring)."""
    canonical = view.canonical if view else ()
    if role.groups and set(role.groups) & set(canonical):
        return True
    if set(canonical) & set(GOVERNMENT):
        return False  # a government body's duty is the 政府部门 role's, whatever else its party names
    party = ob.party if view is None or view.source != "none" else ""
    if party and any(w in party for w in role.party_words):
        return True
    if not any(w in (ob.action or "") for w in role.action_words):
        return False
    return bool(party) or _PROHIBIT.search(ob.action or "") is not None  # a prohibition binds everyone


def _kind(ob: Any) -> str:
    if "法律责任" in (ob.section or ""):
        return "处罚"
    return "禁止" if _PROHIBIT.search(ob.action or "") else "义务"


def duty_items(role: Role, records: Sequence[Any], views: dict[str, PartyView]) -> list[RoleItem]:
    """The register's law duties and prohibitions that apply to the role (plans' tasks are left out)."""
    out: list[RoleItem] = []
    seen: set[str] = set()
    for ob in records:
        if _is_plan(ob.title) or ob.action in seen or not applies(role, ob, views.get(ob.ob_id)):
            continue
        seen.add(ob.action)
        kind = _kind(ob)
        text = ob.passage or ob.action
        out.append(RoleItem(kind, ob.domain or "综合", plain_reading(kind, ob.action if kind != "处罚" else text),
                            text, ob.title, ob.article or "", ob.section, ob.doc_id, ob.start, ob.end))
    return out


def penalty_items(role: Role, docs: Iterable[tuple[Any, Sequence[Any]]], topics: dict[str, str]) -> list[RoleItem]:
    """Articles under 法律责任 that name the role's words and set a penalty."""
    words = role.party_words + role.action_words
    out: list[RoleItem] = []
    for doc, sections in docs:
        if getattr(doc, "kind", "law") not in ("law", "regulation"):
            continue
        for s in sections:
            if s.kind != "article" or not any("法律责任" in h for h in s.path):
                continue
            text = doc.text[s.start : s.end].strip()
            if not _PENALTY.search(text) or not any(w in text for w in words):
                continue
            out.append(RoleItem("处罚", topics.get(doc.doc_id, "综合"), plain_reading("处罚", text), text, doc.title,
                                s.article or "", " > ".join(s.path), doc.doc_id, s.start, s.end))
    return out


def role_items(role: Role, records: Sequence[Any], views: dict[str, PartyView] | None = None,
               docs: Iterable[tuple[Any, Sequence[Any]]] | None = None) -> list[RoleItem]:
    """Every cited item for the role: duties and prohibitions from the register, penalties from the laws."""
    views = views if views is not None else party_views(records)
    items = duty_items(role, records, views)
    if docs is not None:
        topics: dict[str, Counter[str]] = {}
        for ob in records:
            topics.setdefault(ob.doc_id, Counter())[ob.domain or "综合"] += 1
        main_topic = {d: c.most_common(1)[0][0] for d, c in topics.items()}
        known = {(i.doc_id, i.article) for i in items if i.kind == "处罚"}
        items += [i for i in penalty_items(role, docs, main_topic) if (i.doc_id, i.article) not in known]
    return items


def by_topic(items: Sequence[RoleItem]) -> list[tuple[str, list[RoleItem]]]:
    """Items grouped by topic (the largest group first), prohibitions, duties, then penalties within each."""
    groups: dict[str, list[RoleItem]] = {}
    for item in items:
        groups.setdefault(item.topic, []).append(item)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(t, sorted(g, key=lambda i: KIND_ORDER.index(i.kind))) for t, g in ordered]


def to_text(role: Role, items: Sequence[RoleItem]) -> str:
    """The role view as plain text for the terminal."""
    counts = Counter(i.kind for i in items)
    lines = [f"我要遵守什么？—— {role.name}（{role.note}）",
             f"共 {len(items)} 条：" + "，".join(f"{k} {counts[k]}" for k in KIND_ORDER if counts[k]), ""]
    for topic, group in by_topic(items):
        lines.append(f"【{topic}】（{len(group)}）")
        for i in group:
            where = f"《{i.title}》{i.article}"
            lines.append(f"  [{i.kind}] {i.reading}  —— {where}")
        lines.append("")
    return "\n".join(lines)

