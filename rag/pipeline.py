"""The drafting pipeline: encode (or take labels) -> retrieve -> generate -> verify -> decide."""

from __future__ import annotations

from collections.abc import Callable

from rag import __version__
from rag.domain import DraftRequest, Provenance, ReportResult
from rag.kb.store import KnowledgeBase
from rag.ports import Embedder, Generator, Labeler
from rag.stages.decide import DecisionPolicy, decide
from rag.stages.retrieve import EmbeddingRetriever
from rag.stages.verify import VerificationContext


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
    ) -> None:
        self._kb = kb
        self.embedder = embedder
        self.generator = generator
        self.labeler = labeler
        self.policy = policy
        self.retriever = EmbeddingRetriever(embedder, k=retrieval_k)

    def draft(self, request: DraftRequest) -> ReportResult:
        """Draft, verify and decide for one study."""
        kb = self._kb()  # one snapshot per request, so a KB swap never mixes versions
        evidence = self.retriever.retrieve(kb, request.labels)
        findings, impression = self.generator.generate(request.labels, evidence)
        ctx = VerificationContext(
            labels=request.labels,
            indication=request.indication,
            prior_report=request.prior_report,
            retrieved={e.passage.id: e.passage for evs in evidence.values() for e in evs},
        )
        d = decide(request.labels, findings, impression, evidence, ctx, self.labeler, self.policy)
        provenance = Provenance(
            kb_version=kb.version,
            embedder=self.embedder.id,
            generator=self.generator.name,
            radrag_version=__version__,
        )
        return ReportResult(
            status="drafted" if d.report else "abstained",
            report=d.report,
            abstention=d.abstention,
            verdicts=d.verdicts,
            repairs=d.repairs,
            provenance=provenance,
        )
