"""Frozen domain models: what every stage takes and returns.

Wire (HTTP/CLI) models live in rag.api.schemas and translate to these; nothing here
knows about transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from rag.domain.attributes import FindingAttributes, attribute_problems, licensed_words
from rag.domain.base import _Frozen
from rag.domain.ontology import Finding, State

_NO_ATTRIBUTES = FindingAttributes()


class FindingLabel(_Frozen):
    """The state of one finding, the encoder's probability and attributes when known."""

    state: State
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    attributes: FindingAttributes | None = None


class LabelSet(_Frozen):
    """Assessed findings; a finding that is not a key is "not assessed"."""

    findings: dict[Finding, FindingLabel] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _attributes_fit_findings(self) -> LabelSet:
        for f, lab in self.findings.items():
            if lab.attributes is None:
                continue
            problems = attribute_problems(f, lab.state, lab.attributes)
            if problems:
                field, msg = problems[0]
                raise ValueError(f"{f.value}.attributes.{field}: {msg}")
        return self

    @model_validator(mode="after")
    def _no_finding_is_consistent(self) -> LabelSet:
        nf = self.findings.get(Finding.no_finding)
        if nf is not None and nf.state is State.present:
            # Support devices do not make a study abnormal (CheXpert convention).
            clash = [
                f.value
                for f, lab in self.findings.items()
                if f not in (Finding.no_finding, Finding.support_devices)
                and lab.state is not State.absent
            ]
            if clash:
                raise ValueError(
                    "no_finding cannot be present while these findings are present or "
                    f"uncertain: {', '.join(sorted(clash))}"
                )
        return self

    @classmethod
    def from_states(cls, states: Mapping[Finding | str, State | str]) -> LabelSet:
        """Build a label set from plain finding -> state pairs (no probabilities)."""
        return cls(findings={Finding(f): FindingLabel(state=State(s)) for f, s in states.items()})

    def state_of(self, finding: Finding) -> State | None:
        """The state of a finding, or None when it was not assessed."""
        lab = self.findings.get(finding)
        return lab.state if lab else None

    def effective_state(self, finding: Finding) -> State | None:
        """The state a report may assert: a present no_finding implies the rest are absent."""
        own = self.state_of(finding)
        if own is not None:
            return own
        if (
            finding is not Finding.support_devices
            and self.state_of(Finding.no_finding) is State.present
        ):
            return State.absent
        return None

    def attributes_of(self, finding: Finding) -> FindingAttributes:
        """A finding's attributes (empty when none were given or it was not assessed)."""
        lab = self.findings.get(finding)
        return lab.attributes if lab is not None and lab.attributes else _NO_ATTRIBUTES

    def with_state(self, state: State) -> list[Finding]:
        """Findings in a given state, in ontology order."""
        return [f for f in Finding if self.state_of(f) is state]

    def as_states(self) -> dict[str, str]:
        """Plain mapping for hashing, logging and audit."""
        return {f.value: self.findings[f].state.value for f in Finding if f in self.findings}


def licensed_details(labels: LabelSet) -> dict[Finding, frozenset[str]]:
    """Per present or uncertain finding, the detail words its attributes license.

    The verifier passes a detail word in a sentence about finding F only when it is in
    licensed_details(labels)[F] (or the request text gives it); findings without
    attributes license nothing.
    """
    out: dict[Finding, frozenset[str]] = {}
    for f, lab in labels.findings.items():
        if lab.state is State.absent or lab.attributes is None:
            continue
        words = licensed_words(lab.attributes)
        if words:
            out[f] = words
    return out


class DraftRequest(_Frozen):
    """One study to report: its label set and the optional free text that came with it."""

    labels: LabelSet
    indication: str | None = None
    prior_report: str | None = None

    def given_text(self) -> str:
        """Request text that may legitimately supply patient-specific details."""
        return " ".join(t for t in (self.indication, self.prior_report) if t)


class PassageKind(StrEnum):
    """Where a knowledge-base passage came from and what it may support."""

    exemplar = "exemplar"  # a sentence from a (train-split) report of another patient
    definition = "definition"  # general knowledge: what a finding is
    template = "template"  # a detail-free sentence the team wrote for each finding/state


class Passage(_Frozen):
    """One retrievable unit of the knowledge base."""

    id: str
    text: str
    kind: PassageKind
    source: str
    # What the sentence asserts, by the project's labeler (empty for definitions).
    tags: dict[Finding, State] = Field(default_factory=dict)
    # Patient-specific details the text carries (laterality, size, numbers, priors...).
    details: tuple[str, ...] = ()
    # The findings a definition passage is about (empty for exemplars).
    concerns: tuple[Finding, ...] = ()


class Evidence(_Frozen):
    """A retrieved passage and how well it matched the query for a finding."""

    passage: Passage
    finding: Finding
    score: float


class DraftSentence(_Frozen):
    """A sentence proposed for the report, with what it claims and what it cites."""

    text: str
    section: Literal["findings", "impression"] = "findings"
    findings: dict[Finding, State] = Field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    origin: Literal["extractive", "llm", "template", "repair"] = "extractive"


class Verdict(StrEnum):
    """The verifier's decision on one sentence."""

    supported = "supported"
    contradicted = "contradicted"
    unsupported = "unsupported"


class SentenceVerdict(_Frozen):
    """A verdict with machine-readable reasons (empty when supported)."""

    text: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    asserted: dict[Finding, State] = Field(default_factory=dict)


class AbstentionReason(_Frozen):
    """One machine-readable reason to abstain, with a suggestion that would help."""

    code: str
    message: str
    finding: Finding | None = None
    suggestion: str | None = None
    # Seconds before a retry can help (a transient cause, e.g. the LLM server's breaker).
    retry_after_s: float | None = None


class Abstention(_Frozen):
    """Why the service declined to draft."""

    reasons: tuple[AbstentionReason, ...]


class Provenance(_Frozen):
    """What produced a report, so it can be reproduced and audited."""

    kb_version: str
    embedder: str
    generator: str
    prompt_version: str | None = None
    model: str | None = None
    radrag_version: str


class Report(_Frozen):
    """A drafted report: verified findings sentences and impression."""

    findings: tuple[DraftSentence, ...]
    impression: tuple[DraftSentence, ...]

    def text(self) -> str:
        """The report as plain text, the way a radiologist would read it."""
        f = " ".join(s.text for s in self.findings)
        i = " ".join(s.text for s in self.impression)
        return f"FINDINGS: {f}\nIMPRESSION: {i}"


class Repair(_Frozen):
    """A sentence the guard replaced, dropped or added, and why.

    `added`: no verified sentence stated an assessed finding (a model that skipped or
    shortened an entry), so the guard wrote the report style's own; there is no original.
    """

    original: str | None
    action: Literal["replaced", "dropped", "added"]
    replacement: str | None = None
    reasons: tuple[str, ...] = ()


class ReportResult(_Frozen):
    """The decision for one study: a verified draft or an abstention."""

    status: Literal["drafted", "abstained"]
    report: Report | None = None
    abstention: Abstention | None = None
    verdicts: tuple[SentenceVerdict, ...] = ()
    repairs: tuple[Repair, ...] = ()
    provenance: Provenance
