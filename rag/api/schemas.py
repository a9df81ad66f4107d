"""Wire models of the HTTP API; they translate to and from the domain models."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.domain import (
    Abstention,
    DraftRequest,
    DraftSentence,
    Finding,
    FindingLabel,
    LabelSet,
    Provenance,
    ReportResult,
    State,
)

MAX_TEXT = 4000


_BRANCHES = {"enum", "str", "int", "float", "dict", "bool", "json_invalid"}


def _field(loc: tuple[object, ...]) -> str:
    # Drop "body" and union-branch names (e.g. "enum", "FindingLabelIn") from the path.
    parts = [
        str(p)
        for p in loc
        if p != "body"
        and not (isinstance(p, str) and (p in _BRANCHES or p[:1].isupper() or "[" in p))
    ]
    return ".".join(parts) or "body"


def describe_errors(errors: list[dict[str, object]] | object) -> list[dict[str, str]]:
    """One entry per bad field (first message wins); the offending input is never echoed."""
    out: dict[str, dict[str, str]] = {}
    for e in errors:  # type: ignore[attr-defined]
        field = _field(tuple(e.get("loc", ())))
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        out.setdefault(field, {"field": field, "message": msg, "type": str(e.get("type", ""))})
    return list(out.values())


def validation_message(exc: ValidationError) -> str:
    """One line naming each bad field and what is wrong with it."""
    return "; ".join(f"{d['field']}: {d['message']}" for d in describe_errors(exc.errors()))


class FindingLabelIn(BaseModel):
    """A finding's state with an optional probability in [0, 1]."""

    model_config = ConfigDict(extra="forbid")

    state: State
    probability: float | None = Field(default=None, ge=0.0, le=1.0)


class ReportCreate(BaseModel):
    """POST /v1/reports body: the label set and optional free text."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "labels": {
                        "cardiomegaly": {"state": "present", "probability": 0.91},
                        "pleural_effusion": "absent",
                        "pneumothorax": "absent",
                    },
                    "indication": "Shortness of breath.",
                }
            ]
        },
    )

    labels: dict[Finding, State | FindingLabelIn] = Field(
        min_length=1, description="Assessed findings; findings left out are not assessed."
    )
    indication: str | None = Field(default=None, max_length=MAX_TEXT)
    prior_report: str | None = Field(default=None, max_length=MAX_TEXT)
    # Patient-free study metadata, stored with the draft (see rag.review.models.StudyMeta).
    study_instance_uid: str | None = Field(default=None, max_length=64)
    accession_number: str | None = Field(default=None, max_length=16)
    view: str | None = Field(default=None, max_length=16)
    sex: Literal["F", "M", "O", "U"] | None = None
    age_band: Literal["0-17", "18-39", "40-59", "60-79", "80+"] | None = None

    def to_domain(self) -> DraftRequest:
        """Translate to the domain request (raises ValueError on an inconsistent label set)."""
        findings = {
            f: FindingLabel(state=v)
            if isinstance(v, State)
            else FindingLabel(state=v.state, probability=v.probability)
            for f, v in self.labels.items()
        }
        return DraftRequest(
            labels=LabelSet(findings=findings),
            indication=self.indication,
            prior_report=self.prior_report,
        )


class SentencePublic(BaseModel):
    """A report sentence as returned to clients."""

    text: str
    findings: dict[Finding, State]
    evidence: list[str]
    origin: str

    @classmethod
    def of(cls, s: DraftSentence) -> SentencePublic:
        """From a domain sentence."""
        return cls(text=s.text, findings=s.findings, evidence=list(s.evidence), origin=s.origin)


class ReportPublic(BaseModel):
    """The drafted report."""

    findings: list[SentencePublic]
    impression: list[SentencePublic]
    text: str


class VerdictPublic(BaseModel):
    """The verifier's verdict on one drafted sentence."""

    text: str
    verdict: str
    reasons: list[str]


class ReportResponse(BaseModel):
    """POST /v1/reports response."""

    status: Literal["drafted", "abstained"]
    report: ReportPublic | None
    abstention: Abstention | None
    verdicts: list[VerdictPublic]
    repairs: list[dict[str, object]]
    provenance: Provenance
    # The stored draft (GET /v1/drafts/{draft_id}); None when persistence is off.
    draft_id: str | None = None
    draft_status: str | None = None

    @classmethod
    def of(cls, r: ReportResult) -> ReportResponse:
        """From a domain result."""
        report = None
        if r.report is not None:
            report = ReportPublic(
                findings=[SentencePublic.of(s) for s in r.report.findings],
                impression=[SentencePublic.of(s) for s in r.report.impression],
                text=r.report.text(),
            )
        return cls(
            status=r.status,
            report=report,
            abstention=r.abstention,
            verdicts=[
                VerdictPublic(text=v.text, verdict=v.verdict.value, reasons=list(v.reasons))
                for v in r.verdicts
            ],
            repairs=[rp.model_dump() for rp in r.repairs],
            provenance=r.provenance,
        )


def retry_after_header(r: ReportResult) -> dict[str, str]:
    """Retry-After (whole seconds) when an abstention says when retrying can help, else {}."""
    reasons = r.abstention.reasons if r.abstention else ()
    waits = [x.retry_after_s for x in reasons if x.retry_after_s is not None]
    return {"Retry-After": str(max(1, math.ceil(max(waits))))} if waits else {}


class VerifyCreate(BaseModel):
    """POST /v1/verify body: free text to check against a label set."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=200)
    labels: dict[Finding, State | FindingLabelIn] = Field(min_length=1)
    text: str = Field(min_length=1, max_length=MAX_TEXT * 4)
    indication: str | None = Field(default=None, max_length=MAX_TEXT)
    prior: str | None = Field(default=None, max_length=MAX_TEXT)

    def label_set(self) -> LabelSet:
        """The domain label set (raises ValidationError when inconsistent)."""
        return ReportCreate(labels=self.labels).to_domain().labels


class SentenceCheck(BaseModel):
    """One sentence's verdict."""

    text: str
    verdict: str
    reasons: list[str]


class VerifyResult(BaseModel):
    """POST /v1/verify response (and one line of `radrag verify --batch` output)."""

    id: str | None
    supported: bool
    sentences: list[SentenceCheck]
