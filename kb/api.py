"""The public Python API: ``from kb import KnowledgeBase``.

A thin layer over kb.service.KnowledgeBase: opening with defaults, document/kind filters by name (checked against
the index), a LangChain retriever, the obligations register and quizzes. The objects returned are the ones the
CLI prints with ``--json`` (``Answer.to_dict()``, ``obligation_to_dict``, ``QuizItem.to_dict()``; docs/CONTRACTS.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from indexing.config import Settings
from indexing.types import Obligation
from kb import inputs
from kb.ask.retrieve import Filters
from kb.inputs import UnknownFilterError
from kb.register.filters import RegisterFilters
from kb.service import KnowledgeBase as _ServiceKB
from kb.textclean import clean_text

if TYPE_CHECKING:  # LangChain's retriever stack costs ~0.7 s to import; `kb ask` does not need it
    from kb.ask.hybrid_retriever import HybridRetriever

__all__ = ["KnowledgeBase", "UnknownFilterError"]
MAX_QUIZ_ITEMS = 200


class _ClassOrInstanceMethod:
    """``KnowledgeBase.open(...)`` makes and opens a knowledge base; ``kb.open()`` opens an instance's index."""

    def __init__(self, on_class: Callable[..., Any], on_instance: Callable[..., Any]) -> None:
        self.on_class = on_class
        self.on_instance = on_instance
        functools.update_wrapper(self, on_class)

    def __get__(self, obj: object, cls: type) -> Callable[..., Any]:
        if obj is None:
            return functools.partial(self.on_class, cls)
        return self.on_instance.__get__(obj, cls)


def _open_new(
    cls: type[KnowledgeBase],
    settings: Settings | None = None,
    *,
    data_dir: str | Path | None = None,
    corpus_dir: str | Path | None = None,
    embeddings: Any = None,
    progress: Callable[[str], None] | None = None,
) -> KnowledgeBase:
    """A knowledge base over ``settings`` (default: the KB_* environment), its index opened (built when missing)."""
    settings = settings or Settings()
    if data_dir is not None:
        settings.data_dir = Path(data_dir)
    if corpus_dir is not None:
        settings.corpus_dir = Path(corpus_dir)
    kb = cls(settings, embeddings=embeddings, progress=progress)
    _ServiceKB.open(kb)
    return kb


class KnowledgeBase(_ServiceKB):
    """The knowledge base for Python callers: ``KnowledgeBase.open()`` then ``ask``, ``as_retriever``,
    ``obligations`` and ``quiz``."""

    open = _ClassOrInstanceMethod(_open_new, _ServiceKB.open)

    def ask(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        *,
        doc_ids: str | Iterable[str] | None = None,
        kinds: str | Iterable[str] | None = None,
        **kwargs: Any,
    ):
        """Answer a question (kb.ask.answer.Answer; ``.to_dict()`` is the object of ``kb ask --json``).

        ``doc_ids`` / ``kinds`` restrict the search to those documents or kinds (plan, law, regulation, list);
        an id the index does not hold raises UnknownFilterError. Control characters go, and markup or SQL noise
        around a Chinese question is stripped (kb.inputs.strip_noise). Other keywords go to the underlying ask().
        """
        if doc_ids is not None or kinds is not None:
            named = self.filters(doc_ids, kinds)
            if filters is not None:
                named = Filters(doc_ids=named.doc_ids or filters.doc_ids, kinds=named.kinds or filters.kinds)
            filters = named
        question = inputs.strip_noise(clean_text(question or ""))
        return super().ask(question, k=k, filters=filters, **kwargs)

    def as_retriever(self, k: int = 5, filters: Filters | dict | None = None) -> HybridRetriever:
        """A LangChain BaseRetriever over the index; ``filters`` a Filters or {"doc_ids": [...], "kinds": [...]}.

        Each Document has ``id`` (the chunk id) and metadata source (doc id), title, section, start, end, article,
        page and score; ``page_content`` is the verbatim passage.
        """
        if isinstance(filters, dict):
            unknown = set(filters) - {"doc_ids", "kinds"}
            if unknown:
                raise ValueError(f"未知的筛选条件：{'、'.join(sorted(unknown))}（可用 doc_ids、kinds）")
            filters = self.filters(filters.get("doc_ids"), filters.get("kinds"))
        from kb.ask.hybrid_retriever import HybridRetriever

        return HybridRetriever(searcher=self.searcher, k=inputs.check_int(k, "k", 1, 100), filters=filters or Filters())

    def obligations(self, **filters: Unpack[RegisterFilters]) -> list[Obligation]:
        """Records of the obligations register matching every filter (as `kb obligations`), by deadline.

        The filters (kb.register.filters.RegisterFilters) are keywords: ``year``, ``due_before``, ``party``,
        ``doc``, ``domain``, ``text``, ``binding``. ``party`` and ``text`` are substrings; ``doc``, ``domain`` and
        ``binding`` must be values the register holds (UnknownFilterError otherwise); a malformed date or year
        raises ValueError.
        """
        from kb.register.query import query

        return query(self.register, **inputs.obligation_filters(self.register, **filters))

    def quiz(
        self,
        n: int = 10,
        seed: int = 0,
        kinds: str | Iterable[str] | None = None,
        doc: str | None = None,
        domain: str | None = None,
    ) -> list:
        """Up to ``n`` quiz items (QuizItem; ``.to_dict()`` as `kb quiz --format json`), fixed by ``seed``.

        ``kinds`` among mcq, blank, judge; ``doc`` and ``domain`` must have usable facts (UnknownFilterError).
        """
        from kb.quiz import build as quiz

        register = self.register
        kind_list = inputs.check_values("kinds", "题型", inputs.as_list(kinds), inputs.QUIZ_KINDS)
        doc_id = inputs.check_one("doc", "文件编号（doc_id）", doc, [d for _, d in quiz.quiz_documents(register)])
        dom = inputs.check_one("domain", "领域", domain, quiz.quiz_domains(register))
        count = inputs.check_int(n, "题数", 1, MAX_QUIZ_ITEMS)
        seed_value = inputs.check_int(seed, "随机种子", -(2**31), 2**31 - 1)
        return quiz.generate(register, n=count, seed=seed_value, kinds=list(kind_list) or None, doc=doc_id, domain=dom)
