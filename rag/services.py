"""Wire the pipeline once from settings (the one place tests swap parts)."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

from rag.adapters.st_embedder import SentenceTransformerEmbedder
from rag.config import Settings
from rag.kb.store import KBError, KnowledgeBase, load_version
from rag.labeler import RuleLabeler
from rag.pipeline import ReportPipeline
from rag.ports import Embedder, Generator
from rag.prompts import load_prompt
from rag.stages.decide import DecisionPolicy
from rag.stages.generate import ExtractiveGenerator


class KBHolder:
    """Holds the serving knowledge base; a reload swaps it atomically or not at all."""

    def __init__(self, settings: Settings, embedder_id: str) -> None:
        self._settings = settings
        self._embedder_id = embedder_id
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def reload(self) -> KnowledgeBase:
        """Load the published version; on failure keep serving the previous one."""
        with self._lock:
            try:
                kb = load_version(self._settings.kb_root, embedder_id=self._embedder_id)
            except KBError as exc:
                self.last_error = str(exc)
                raise
            self._kb, self.last_error = kb, None
            return kb

    @property
    def ready(self) -> bool:
        """Whether a verified knowledge base is loaded."""
        return self._kb is not None

    def get(self) -> KnowledgeBase:
        """The current knowledge base (raises KBError when none is loaded)."""
        kb = self._kb
        if kb is None:
            raise KBError(self.last_error or "knowledge base not loaded")
        return kb


@dataclass
class Services:
    """Everything the API and CLI need, built once."""

    settings: Settings
    embedder: Embedder
    kb: KBHolder
    pipeline: ReportPipeline


def build_generator(settings: Settings) -> Generator:
    """The configured generator: extractive (no LLM) or the vLLM server client."""
    if settings.generator == "vllm":
        # Imported here so the extractive mode never needs the HTTP client wiring.
        from rag.adapters.vllm_generator import VLLMGenerator

        return VLLMGenerator(
            settings.vllm_url,
            settings.vllm_model,
            load_prompt("draft_report", settings.prompt_version),
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
        )
    return ExtractiveGenerator()


def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    """Build the default services; the KB is loaded if published (readiness says so)."""
    emb = embedder or SentenceTransformerEmbedder(settings.embedder, settings.embed_batch_size)
    holder = KBHolder(settings, emb.id)
    # Without a KB the service still starts; readiness stays false and says why.
    with contextlib.suppress(KBError):
        holder.reload()
    pipeline = ReportPipeline(
        holder.get,
        emb,
        build_generator(settings),
        RuleLabeler(),
        DecisionPolicy(min_support_score=settings.min_support_score),
        retrieval_k=settings.retrieval_k,
    )
    return Services(settings=settings, embedder=emb, kb=holder, pipeline=pipeline)
