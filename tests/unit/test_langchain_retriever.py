"""The LangChain adapter returns Documents with passage metadata; the core stays clean."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rag.adapters.langchain_retriever import KBLangChainRetriever
from rag.services import Services

pytestmark = pytest.mark.unit


def test_retriever_returns_documents(tiny_services: Services) -> None:
    r = KBLangChainRetriever(kb=tiny_services.kb.get, embedder=tiny_services.embedder, k=3)
    docs = r.invoke("There is a pleural effusion.")
    assert len(docs) == 3 and docs[0].page_content == "There is a pleural effusion."
    meta = docs[0].metadata
    assert meta["id"] == "ex-7" and meta["tags"] == {"pleural_effusion": "present"}
    assert meta["kb_version"] == tiny_services.kb.get().version
    assert [d.metadata["score"] for d in docs] == sorted(
        (d.metadata["score"] for d in docs), reverse=True
    )


def test_core_never_imports_langchain() -> None:
    code = (
        "import sys, rag.api.app, rag.cli, rag.kb.refresh, rag.services; "
        "print(any(m.startswith('langchain') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
