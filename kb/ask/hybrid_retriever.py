"""LangChain retriever over our index (imported on demand through kb.ask.retrieve.HybridRetriever)."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from kb.ask.query import normalize_query
from kb.ask.retrieve import Filters, Searcher


class HybridRetriever(BaseRetriever):
    """LangChain retriever over our index (jieba BM25, character-bigram BM25 and dense, fused; the query normalised
    as `kb ask` does); returns LangChain Documents with ``id`` (the chunk id) and metadata["source"] (the doc id)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Searcher
    k: int = 8
    filters: Filters = Filters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        nq = normalize_query(query)
        hits = self.searcher.search(nq.text, k=self.k, filters=self.filters, expansions=nq.expansions)
        return [
            LCDocument(
                id=c.chunk_id,
                page_content=c.text,
                metadata={
                    "source": c.doc_id,
                    "chunk_id": c.chunk_id,
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "section": c.section,
                    "start": c.start,
                    "end": c.end,
                    "article": c.article,
                    "page": c.page,
                    "score": score,
                },
            )
            for c, score in hits
        ]
