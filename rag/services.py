"""Wire the pipeline once from settings (the one place tests swap parts)."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

from rag.adapters.st_embedder import SentenceTransformerEmbedder
from rag.config import Settings
from rag.crosscheck.verdict import ContextSentenceCheck
from rag.kb.store import KBError, KnowledgeBase, current_version, load_version
from rag.labeler import RuleLabeler
from rag.pipeline import ReportPipeline
from rag.ports import Embedder, Generator, ImageEncoder
from rag.prompts import load_prompt
from rag.security.audit import AuditLog
from rag.security.keys import KeyStore
from rag.stages.decide import DecisionPolicy
from rag.stages.generate import ExtractiveGenerator
from rag.store.audit import DbAuditLog
from rag.store.database import Database
from rag.store.drafts import DraftStore
from rag.store.keys import DbKeyStore


class KBHolder:
    """Holds the serving knowledge base; a reload swaps it atomically or not at all."""

    def __init__(self, settings: Settings, embedder_id: str) -> None:
        self._settings = settings
        self._embedder_id = embedder_id
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.failed_version: str | None = None

    def reload(self) -> KnowledgeBase:
        """Load the published version; on failure keep serving the previous one.

        The new version is loaded and verified before the swap, and the swap is a single
        reference assignment: requests in flight keep the snapshot they took.
        """
        with self._lock:
            version = current_version(self._settings.kb_root)
            try:
                kb = load_version(
                    self._settings.kb_root, version=version, embedder_id=self._embedder_id
                )
            except KBError as exc:
                self.last_error, self.failed_version = str(exc), version
                raise
            self._kb, self.last_error, self.failed_version = kb, None, None
            return kb

    def reload_if_changed(self) -> bool:
        """Reload when CURRENT names a version not loaded (and not already refused)."""
        published = current_version(self._settings.kb_root)
        loaded = self._kb.version if self._kb else None
        if published is None or published in (loaded, self.failed_version):
            return False
        self.reload()
        return True

    @property
    def ready(self) -> bool:
        """Whether a verified knowledge base is loaded (a refused newer one does not matter)."""
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
    # Loaded on first image request (torch model load), so label-only use pays nothing.
    image_encoder: ImageEncoder | None = None
    _encoder_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    keys: KeyStore | DbKeyStore = field(default=None)  # type: ignore[assignment]
    audit: AuditLog | DbAuditLog = field(default=None)  # type: ignore[assignment]
    # The database (drafts, reviews, keys, audit); None when settings.persist is off.
    db: Database | None = None
    drafts: DraftStore | None = None
    # How long the image encoder took to load (None until it is loaded here), for /metrics.
    encoder_load_seconds: float | None = None

    def __post_init__(self) -> None:
        # Keys and the audit trail share the drafts' database, so several API processes
        # serve one data set; with persist off they stay in files under the home.
        if self.settings.persist:
            self.db = self.db or Database.open(self.settings.db_url)
            self.keys = self.keys or DbKeyStore(self.db)
            self.audit = self.audit or DbAuditLog(self.db)
            self.drafts = self.drafts or DraftStore(self.db)
        self.keys = self.keys or KeyStore(self.settings.keys_file)
        self.audit = self.audit or AuditLog(self.settings.audit_file)

    def get_image_encoder(self) -> ImageEncoder:
        """The image encoder, loaded once from settings on first use."""
        with self._encoder_lock:
            if self.image_encoder is None:
                from rag.adapters.image_encoders import load_image_encoder

                s = self.settings
                t0 = time.perf_counter()
                self.image_encoder = load_image_encoder(
                    s.image_encoder,
                    s.image_encoder_kind,
                    s.image_encoder_device,
                    s.image_encoder_dtype,
                )
                self.encoder_load_seconds = time.perf_counter() - t0
            return self.image_encoder


def build_generator(settings: Settings) -> Generator:
    """The configured generator: extractive (no LLM) or the vLLM server client."""
    if settings.generator == "vllm":
        # Imported here so the extractive mode never needs the HTTP client wiring.
        from rag.adapters.circuit_breaker import CircuitBreaker
        from rag.adapters.vllm_generator import VLLMGenerator

        return VLLMGenerator(
            settings.vllm_url,
            settings.vllm_model,
            load_prompt("draft_report", settings.prompt_version),
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
            breaker=CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s),
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
        DecisionPolicy(
            min_support_score=settings.min_support_score,
            min_finding_confidence=settings.min_finding_confidence,
        ),
        retrieval_k=settings.retrieval_k,
        # Always on in the service: a sentence passes only if both readers support it.
        crosscheck=ContextSentenceCheck(),
    )
    return Services(settings=settings, embedder=emb, kb=holder, pipeline=pipeline)
