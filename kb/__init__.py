"""Query side of the knowledge base: retrieve, answer with citations, obligations, quizzes, CLI.

The public Python API (README "Python"):

    from kb import KnowledgeBase
    kb = KnowledgeBase.open()
    print(kb.ask("秸秆收集利用率要在哪年达到多少？").to_dict())

Attributes are imported on first access, so that ``import kb`` (and ``kb --help``) stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

_PUBLIC = {
    "KnowledgeBase": ("kb.api", "KnowledgeBase"),
    "UnknownFilterError": ("kb.api", "UnknownFilterError"),
    "Settings": ("indexing.config", "Settings"),
    "Filters": ("kb.ask.retrieve", "Filters"),
}
__all__ = ["Filters", "KnowledgeBase", "Settings", "UnknownFilterError", "__version__"]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'kb' has no attribute {name!r}")
    from importlib import import_module

    module, attr = _PUBLIC[name]
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Public names, for tab completion."""
    return sorted([*globals(), *_PUBLIC])
