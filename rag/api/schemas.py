"""Wire models of the HTTP API; they translate to and from the domain models."""

from __future__ import annotations

import hashlib
import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from rag.domain import (
    Abstention,
    DraftRequest,
    DraftSentence,
    Finding,
    FindingAttributes,
    FindingLabel,
    LabelSet,
    Provenance,
    Repair,
    ReportResult,
    SentenceVerdict,
    State,
    Verdict,
    attribute_problems,
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
    """A finding's state with an optional probability in [0, 1] and optional attributes."""

    model_config = ConfigDict(extra="forbid")

    state: State
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    attributes: FindingAttributes | None = Field(
        default=None,
        description="Side, size or severity, location, count, devices (closed vocabularies; "
        "which apply depends on the finding, see rag.domain.attributes).",
    )


def _attributes_apply(
    labels: dict[Finding, State | FindingLabelIn],
) -> dict[Finding, State | FindingLabelIn]:
    # Checked here rather than in the domain model so that the 422 names the exact field
    # (labels.<finding>.attributes.<name>); pydantic prefixes these locations with "labels".
    errors = [
        InitErrorDetails(
            type=PydanticCustomError("attribute_not_applicable", msg),
            loc=(f.value, "attributes", field)[: 2 if field == "attributes" else 3],
            input=None,  # never echo request content
        )
        for f, v in labels.items()
        if isinstance(v, FindingLabelIn) and v.attributes is not None
        for field, msg in attribute_problems(f, v.state, v.attributes)
    ]
    if errors:
        raise ValidationError.from_exception_data("labels", errors)
    return labels


LabelsIn = Annotated[dict[Finding, State | FindingLabelIn], AfterValidator(_attributes_apply)]


class ReportCreate(BaseModel):
    """POST /v1/reports body: the label set and optional free text."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "labels": {
                        "cardiomegaly": {"state": "present", "probability": 0.91},
                        "pleural_effusion": {
                            "state": "present",
                            "attributes": {"laterality": "left", "severity": "small"},
                        },
                        "pneumothorax": "absent",
                    },
                    "indication": "Shortness of breath.",
                }
            ]
        },
    )

    labels: LabelsIn = Field(
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
            else FindingLabel(state=v.state, probability=v.probability, attributes=v.attributes)
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
    """The verifier's verdict on one drafted sentence.

    A sentence that failed verification is generated text that must not leave the
    service: its text is withheld (null) and identified by its sha256; an admin may ask
    for it with `debug_rejected_text=true`.
    """

    text: str | None
    text_sha256: str
    verdict: str
    reasons: list[str]

    @classmethod
    def of(cls, v: SentenceVerdict, reveal_rejected: bool = False) -> VerdictPublic:
        """From a domain verdict, withholding rejected text unless asked."""
        shown = v.verdict is Verdict.supported or reveal_rejected
        return cls(
            text=v.text if shown else None,
            text_sha256=sha256_text(v.text),
            verdict=v.verdict.value,
            reasons=list(v.reasons),
        )


class RepairPublic(BaseModel):
    """A sentence the guard replaced, dropped or added: the original is rejected text,
    withheld (an added sentence has none)."""

    original: str | None
    original_sha256: str | None
    action: Literal["replaced", "dropped", "added"]
    replacement: str | None
    reasons: list[str]

    @classmethod
    def of(cls, r: Repair, reveal_rejected: bool = False) -> RepairPublic:
        """From a domain repair; the replacement passed verification, the original did not."""
        return cls(
            original=r.original if reveal_rejected else None,
            original_sha256=sha256_text(r.original) if r.original is not None else None,
            action=r.action,
            replacement=r.replacement,
            reasons=list(r.reasons),
        )


def sha256_text(text: str) -> str:
    """sha256 of a sentence's UTF-8 text (what a caller can match a withheld sentence by)."""
    return hashlib.sha256(text.encode()).hexdigest()


class ReportResponse(BaseModel):
    """POST /v1/reports response."""

    status: Literal["drafted", "abstained"]
    report: ReportPublic | None
    abstention: Abstention | None
    verdicts: list[VerdictPublic]
    repairs: list[RepairPublic]
    provenance: Provenance
    # The stored draft (GET /v1/drafts/{draft_id}); None when persistence is off.
    draft_id: str | None = None
    draft_status: str | None = None

    @classmethod
    def of(cls, r: ReportResult, reveal_rejected: bool = False) -> ReportResponse:
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
            verdicts=[VerdictPublic.of(v, reveal_rejected) for v in r.verdicts],
            repairs=[RepairPublic.of(rp, reveal_rejected) for rp in r.repairs],
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
    labels: LabelsIn = Field(min_length=1)
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
