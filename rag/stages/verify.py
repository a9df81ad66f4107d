"""Stage 4a, verify: check every sentence against the label set, the request and its evidence.

This is where a report gets verified. A sentence is
- contradicted when it asserts a state the label set does not hold for a finding;
- unsupported when it talks about a finding that was not assessed, states a patient
  detail (side, size, number, device, comparison...) the request did not give, or cites
  evidence that was not retrieved for it or is about something else;
- supported otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.domain import (
    DraftSentence,
    Finding,
    LabelSet,
    Passage,
    SentenceVerdict,
    Verdict,
)
from rag.labeler import split_sentences
from rag.labeler.details import unsupported_details
from rag.ports import Labeler
from rag.stages.retrieve import concerns


@dataclass(frozen=True)
class VerificationContext:
    """What a sentence may rely on: the labels, the request text and retrieved passages."""

    labels: LabelSet
    indication: str | None = None
    prior_report: str | None = None
    retrieved: dict[str, Passage] = field(default_factory=dict)
    # Free text checked outside the drafting path (POST /v1/verify) has no citations.
    require_evidence: bool = True

    @property
    def given_text(self) -> str:
        """Request text that may supply details."""
        return " ".join(t for t in (self.indication, self.prior_report) if t)


def verify_sentence(
    sentence: DraftSentence | str, ctx: VerificationContext, labeler: Labeler
) -> SentenceVerdict:
    """The verdict on one sentence, with machine-readable reasons."""
    s = sentence if isinstance(sentence, DraftSentence) else DraftSentence(text=sentence)
    asserted = labeler.label(s.text)
    contradicted: list[str] = []
    unsupported: list[str] = []
    if not asserted:
        unsupported.append("no_ontology_finding: the sentence asserts none of the 14 findings")
    for f, st in asserted.items():
        want = ctx.labels.effective_state(f)
        if want is None:
            unsupported.append(f"not_assessed:{f.value}")
        elif want is not st:
            contradicted.append(f"state_mismatch:{f.value}:says_{st.value}:labels_{want.value}")
    for d in unsupported_details(s.text, ctx.given_text, ctx.prior_report is not None):
        unsupported.append(f"detail_not_given:{d.kind.value}:{d.text}")
    if ctx.require_evidence:
        unsupported.extend(_evidence_problems(s, asserted, ctx))
    if contradicted:
        verdict = Verdict.contradicted
    elif unsupported:
        verdict = Verdict.unsupported
    else:
        verdict = Verdict.supported
    return SentenceVerdict(
        text=s.text, verdict=verdict, reasons=tuple(contradicted + unsupported), asserted=asserted
    )


def _evidence_problems(
    s: DraftSentence, asserted: dict[Finding, object], ctx: VerificationContext
) -> list[str]:
    if not s.evidence:
        return ["no_evidence: the sentence cites no passage"]
    problems = []
    for pid in s.evidence:
        p = ctx.retrieved.get(pid)
        if p is None:
            problems.append(f"evidence_not_retrieved:{pid}")
        elif not any(concerns(p, f) for f in asserted):
            problems.append(f"evidence_off_topic:{pid}")
    return problems


def verify_text(
    text: str,
    labels: LabelSet,
    labeler: Labeler,
    indication: str | None = None,
    prior_report: str | None = None,
) -> list[SentenceVerdict]:
    """Verify free text (e.g. a radiologist's or another model's draft), sentence by sentence.

    Free text cites no passages, so only the label set and the request text can support it.
    """
    ctx = VerificationContext(
        labels=labels, indication=indication, prior_report=prior_report, require_evidence=False
    )
    return [verify_sentence(s, ctx, labeler) for s in split_sentences(text)]
