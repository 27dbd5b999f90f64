"""Topic (domain) of a passage: from the plan's top two heading levels, or from a law's title."""

from __future__ import annotations

from collections.abc import Sequence

from indexing.types import Document

_DOMAINS_PLAN = (
    ("大气", "大气"), ("空气", "大气"), ("水污染", "水"), ("水环境", "水"), ("土壤", "土壤"),
    ("国土空间", "生态"), ("生态", "生态"), ("风险", "风险"), ("体制", "体制"), ("法制", "能力建设"),
    ("能力", "能力建设"), ("规划目标", "目标"),
)
_DOMAINS_TOP = (("重点项目", "项目"), ("保障措施", "保障"))
_DOMAINS_LAW = (
    ("大气", "大气"), ("水污染", "水"), ("土壤", "土壤"), ("固体废物", "固废"), ("噪声", "噪声"),
    ("核安全", "核与辐射"), ("放射性", "核与辐射"), ("环境影响评价", "环评"), ("建设项目", "环评"),
    ("环境保护税", "环保税"), ("排污许可", "排污许可"), ("自然保护区", "生态"), ("防沙治沙", "生态"),
    ("清洁生产", "清洁生产"), ("环境保护法", "综合"),
)


def domain_of(doc: Document, path: Sequence[str]) -> str:
    """Topic of a passage: from the plan's top two heading levels, or from a law's title."""
    if doc.kind != "plan":
        return next((d for k, d in _DOMAINS_LAW if k in doc.title), "综合")
    if path:
        for key, dom in _DOMAINS_TOP:
            if key in path[0]:
                return dom
    for heading in (path[1:2] if len(path) > 1 else ()) + tuple(path[:1]):
        for key, dom in _DOMAINS_PLAN:
            if key in heading:
                return dom
    return "综合"
