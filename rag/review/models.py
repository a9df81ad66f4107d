"""Frozen models of the review loop: study metadata, stored drafts, sentences with verdicts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.domain import Abstention, Finding, FindingLabel, LabelSet, Provenance, State

DraftStatus = Literal["drafted", "abstained", "awaiting_review", "signed"]
AGE_BANDS = ("0-17", "18-39", "40-59", "60-79", "80+")
SEXES = ("F", "M", "O", "U")
# The reasons a reviewer may give for editing or removing a sentence (monitor counts them).
EDIT_REASONS = (
    "wrong_finding",
    "wrong_laterality",
    "wrong_severity",
    "missed_finding",
    "style",
    "other",
)
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_ACCESSION = re.compile(r"^[A-Za-z0-9._-]+$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudyMeta(_Frozen):
    """Patient-free study metadata: identifiers, view, sex and an age band (never an age)."""

    study_instance_uid: str | None = Field(default=None, max_length=64)
    accession_number: str | None = Field(default=None, max_length=16)
    view: str | None = Field(default=None, max_length=16)
    sex: Literal["F", "M", "O", "U"] | None = None
    age_band: Literal["0-17", "18-39", "40-59", "60-79", "80+"] | None = None

    @field_validator("study_instance_uid")
    @classmethod
    def _uid(cls, v: str | None) -> str | None:
        if v is not None and not _UID.match(v):
            raise ValueError("a DICOM UID: digits separated by dots")
        return v

    @field_validator("accession_number")
    @classmethod
    def _accession(cls, v: str | None) -> str | None:
        if v is not None and not _ACCESSION.match(v):
            raise ValueError("letters, digits, '.', '_' or '-' only")
        return v

    @field_validator("view")
    @classmethod
    def _view(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z]{1,16}$", v):
            raise ValueError("a view code such as PA, AP or LATERAL")
        return v.upper() if v else v


class ReviewSentence(_Frozen):
    """A sentence of the draft with its citations and the verifier's verdict on it."""

    section: Literal["findings", "impression"]
    text: str
    evidence: tuple[str, ...] = ()
    origin: str
    verdict: str = "supported"
    reasons: tuple[str, ...] = ()
    # A reviewer's sentence the verifier did not support: kept, shown, and never silent.
    flagged: bool = False


class HashedVerdict(_Frozen):
    """A verdict on a sentence the draft did not keep: only the sentence's sha256."""

    sentence_sha256: str
    verdict: str
    reasons: tuple[str, ...] = ()


class Proposal(_Frozen):
    """The image encoder's proposed label for one finding."""

    probability: float
    state: State


class DraftContent(_Frozen):
    """What a draft version holds (stored as JSON)."""

    labels: dict[Finding, FindingLabel]
    proposed: dict[Finding, Proposal] | None = None
    encoder: str | None = None
    indication: str | None = None
    prior_report: str | None = None
    sentences: tuple[ReviewSentence, ...] = ()
    abstention: Abstention | None = None
    rejected: tuple[HashedVerdict, ...] = ()
    passages: dict[str, str] = Field(default_factory=dict)
    provenance: Provenance | None = None
    edited: bool = False

    def label_set(self) -> LabelSet:
        """The label set the draft states."""
        return LabelSet(findings=dict(self.labels))

    def report_text(self) -> str:
        """FINDINGS and IMPRESSION as text."""
        parts = []
        for section in ("findings", "impression"):
            said = [s.text for s in self.sentences if s.section == section]
            if said:
                parts.append(f"{section.upper()}: " + " ".join(said))
        return "\n".join(parts)


class Draft(_Frozen):
    """One stored draft version with its study."""

    id: str
    study: StudyMeta
    parent_id: str | None
    version: int
    revision: int
    status: DraftStatus
    source: Literal["labels", "images"]
    content: DraftContent
    created_at: datetime
    updated_at: datetime
    image_ids: tuple[int, ...] = ()
