"""Typed domain models shared by every pipeline stage."""

from rag.domain.imaging import (
    Band,
    DecodedImage,
    FindingEstimate,
    ImageEncoding,
    ImageScores,
)
from rag.domain.models import (
    Abstention,
    AbstentionReason,
    DraftRequest,
    DraftSentence,
    Evidence,
    FindingLabel,
    LabelSet,
    Passage,
    PassageKind,
    Provenance,
    Repair,
    Report,
    ReportResult,
    SentenceVerdict,
    Verdict,
)
from rag.domain.ontology import COMMON_FIVE, FINDING_NAMES, Finding, State

__all__ = [
    "COMMON_FIVE",
    "FINDING_NAMES",
    "Abstention",
    "AbstentionReason",
    "Band",
    "DecodedImage",
    "DraftRequest",
    "DraftSentence",
    "Evidence",
    "Finding",
    "FindingEstimate",
    "FindingLabel",
    "ImageEncoding",
    "ImageScores",
    "LabelSet",
    "Passage",
    "PassageKind",
    "Provenance",
    "Repair",
    "Report",
    "ReportResult",
    "SentenceVerdict",
    "State",
    "Verdict",
]
