"""KBLangChainRetriever: the knowledge base as a langchain-core BaseRetriever.

The only module that imports LangChain; the core never depends on its types.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, SkipValidation

from rag.kb.store import KnowledgeBase
from rag.ports import Embedder


class KBLangChainRetriever(BaseRetriever):
    """Top-k passages of the serving knowledge base for a free-text query."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kb: Callable[[], KnowledgeBase]  # e.g. KBHolder.get, so hot reloads are followed
    embedder: SkipValidation[Embedder]  # a Protocol: checked by type checkers, not pydantic
    k: int = 8

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        kb = self.kb()  # one snapshot per query
        scores, ids = kb.index.search(self.embedder.embed([query]), self.k)
        return [
            Document(
                page_content=kb.passages[i].text,
                id=kb.passages[i].id,
                metadata={
                    "id": kb.passages[i].id,
                    "kind": kb.passages[i].kind.value,
                    "source": kb.passages[i].source,
                    "tags": {f.value: s.value for f, s in kb.passages[i].tags.items()},
                    "concerns": [f.value for f in kb.passages[i].concerns],
                    "score": float(score),
                    "kb_version": kb.version,
                },
            )
            for score, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]
