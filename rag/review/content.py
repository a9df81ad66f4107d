"""Turn a pipeline result into stored draft content (rejected sentences only as hashes)."""

from __future__ import annotations

from rag.domain import ImageEncoding, LabelSet, ReportResult, Verdict
from rag.kb.store import KnowledgeBase
from rag.review.models import DraftContent, DraftStatus, HashedVerdict, Proposal, ReviewSentence
from rag.security.audit import digest

# Abstentions a radiologist resolves by confirming labels: the study waits for review.
REVIEWABLE = frozenset({"risk_not_certified", "encoder_not_certified", "low_image_confidence"})


def proposal_of(encoding: ImageEncoding) -> dict:
    """The encoder's proposal per finding."""
    return {
        f: Proposal(probability=round(e.probability, 4), state=e.state)
        for f, e in encoding.findings.items()
    }


def content_of(
    result: ReportResult,
    labels: LabelSet,
    kb: KnowledgeBase | None,
    indication: str | None = None,
    prior_report: str | None = None,
    encoding: ImageEncoding | None = None,
) -> DraftContent:
    """Draft content from a result: kept sentences in full, the rest hashed."""
    sentences: list[ReviewSentence] = []
    if result.report is not None:
        for s in (*result.report.findings, *result.report.impression):
            sentences.append(
                ReviewSentence(section=s.section, text=s.text, evidence=s.evidence, origin=s.origin)
            )
    kept = {s.text for s in sentences}
    rejected = tuple(
        HashedVerdict(sentence_sha256=digest(v.text), verdict=v.verdict.value, reasons=v.reasons)
        for v in result.verdicts
        if v.verdict is not Verdict.supported or v.text not in kept
    )
    cited = {pid for s in sentences for pid in s.evidence}
    passages = {pid: kb.by_id[pid].text for pid in sorted(cited) if kb and pid in kb.by_id}
    return DraftContent(
        labels=dict(labels.findings),
        proposed=proposal_of(encoding) if encoding else None,
        encoder=encoding.encoder if encoding else None,
        indication=indication,
        prior_report=prior_report,
        sentences=tuple(sentences),
        abstention=result.abstention,
        rejected=rejected,
        passages=passages,
        provenance=result.provenance,
    )


def status_of(result: ReportResult) -> DraftStatus:
    """Drafted, abstained, or awaiting review (the encoder is not trusted on its own)."""
    if result.status == "drafted":
        return "drafted"
    codes = {r.code for r in result.abstention.reasons} if result.abstention else set()
    return "awaiting_review" if codes and codes <= REVIEWABLE else "abstained"
