"""The drafting pipeline: encode (or take labels) -> retrieve -> generate -> verify -> decide."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rag import __version__
from rag.domain import Abstention, AbstentionReason, DraftRequest, Provenance, ReportResult
from rag.kb.store import KnowledgeBase
from rag.observability.tracing import stage_span
from rag.ports import Embedder, Generator, GeneratorError, Labeler, SentenceCheck
from rag.stages.decide import DecisionPolicy, decide
from rag.stages.retrieve import EmbeddingRetriever
from rag.stages.verify import VerificationContext

log = logging.getLogger(__name__)

_GENERATOR_SUGGESTION = {
    "generator_unavailable": "check that the LLM server is running and reachable, then retry",
    "generator_invalid_output": "retry, or use RADRAG_GENERATOR=extractive",
}


class ReportPipeline:
    """Drafts one report per request; never returns a sentence the verifier rejected."""

    def __init__(
        self,
        kb: Callable[[], KnowledgeBase],
        embedder: Embedder,
        generator: Generator,
        labeler: Labeler,
        policy: DecisionPolicy,
        retrieval_k: int = 64,
        crosscheck: SentenceCheck | None = None,
    ) -> None:
        self._kb = kb
        self.embedder = embedder
        self.generator = generator
        self.labeler = labeler
        self.policy = policy
        # The independent second reader every sentence must also satisfy (services wires it).
        self.crosscheck = crosscheck
        self.retriever = EmbeddingRetriever(embedder, k=retrieval_k)

    def draft(self, request: DraftRequest) -> ReportResult:
        """Draft, verify and decide for one study."""
        kb = self._kb()  # one snapshot per request, so a KB swap never mixes versions
        with stage_span("retrieve", kb_version=kb.version):
            evidence = self.retriever.retrieve(kb, request.labels)
        provenance = Provenance(
            kb_version=kb.version,
            embedder=self.embedder.id,
            generator=self.generator.name,
            prompt_version=getattr(self.generator, "prompt_version", None),
            model=getattr(self.generator, "model", None),
            radrag_version=__version__,
        )
        try:
            with stage_span("generate", generator=self.generator.name):
                findings, impression = self.generator.generate(
                    request.labels,
                    evidence,
                    indication=request.indication,
                    prior_report=request.prior_report,
                )
        except GeneratorError as exc:
            # Never a silent fallback: the caller learns the generator failed and why.
            log.warning("generator failed: %s", exc.code)
            reason = AbstentionReason(
                code=exc.code,
                message=exc.message,
                suggestion=_GENERATOR_SUGGESTION[exc.code],
                retry_after_s=exc.retry_after_s,
            )
            return ReportResult(
                status="abstained",
                abstention=Abstention(reasons=(reason,)),
                provenance=provenance,
            )
        ctx = VerificationContext.for_request(
            request.labels,
            self.labeler,
            request.indication,
            request.prior_report,
            retrieved={e.passage.id: e.passage for evs in evidence.values() for e in evs},
        )
        # decide() verifies every sentence (both readers), repairs or drops, drafts or abstains.
        with stage_span("verify_decide"):
            d = decide(
                request.labels,
                findings,
                impression,
                evidence,
                ctx,
                self.labeler,
                self.policy,
                self.crosscheck,
            )
        return ReportResult(
            status="drafted" if d.report else "abstained",
            report=d.report,
            abstention=d.abstention,
            verdicts=d.verdicts,
            repairs=d.repairs,
            provenance=provenance,
        )
