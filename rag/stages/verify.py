"""Stage 4a, verify: check every sentence against the label set, the request and its evidence.

This is where a report gets verified. A sentence is
- contradicted when it asserts a state the label set does not hold for a finding;
- unsupported when it cannot be read safely (smuggled text, ambiguous scope, double
  negation, a hedge that leans absent), names anything outside the 14 findings or a word
  nothing accounts for, talks about a finding that was not assessed, states a patient
  detail (side, size, number, device, comparison...) that neither the label set's
  attributes nor the prior report give, or cites evidence that was not retrieved for it
  or is about something else; and when the independent check (a second reader on another
  engine and vocabulary) does not find it supported;
- supported otherwise.
Reasons never quote generated words beyond closed vocabularies (finding ids, detail and
vocabulary terms), so a rejected sentence's text can be withheld whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.domain import (
    DraftSentence,
    Finding,
    LabelSet,
    Passage,
    SentenceVerdict,
    State,
    Verdict,
)
from rag.labeler import split_sentences
from rag.labeler.details import unsupported_details, words_of
from rag.labeler.scope import read_sentence
from rag.labeler.surface import normalise, surface_problems
from rag.labeler.vocabulary import vocabulary_problems
from rag.ports import Labeler, SentenceCheck
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
    def licensed_words(self) -> frozenset[str]:
        """Words that may state patient details: the prior report's (never the indication's)."""
        return words_of(self.prior_report)


def verify_sentence(
    sentence: DraftSentence | str,
    ctx: VerificationContext,
    labeler: Labeler,
    crosscheck: SentenceCheck | None = None,
) -> SentenceVerdict:
    """The verdict on one sentence, with machine-readable reasons."""
    s = sentence if isinstance(sentence, DraftSentence) else DraftSentence(text=sentence)
    unsupported = surface_problems(s.text, len(split_sentences(s.text)))
    text = normalise(s.text)
    reading = read_sentence(text, labeler)
    asserted = reading.states
    contradicted: list[str] = []
    unsupported.extend(reading.problems)
    if not asserted:
        unsupported.append("no_ontology_finding: the sentence asserts none of the 14 findings")
    for f, st in asserted.items():
        want = ctx.labels.effective_state(f)
        if want is None:
            unsupported.append(f"not_assessed:{f.value}")
        elif f in reading.leaning_absent:
            unsupported.append(f"hedge_state_change:{f.value}:leans_absent:labels_{want.value}")
        elif want is not st:
            contradicted.append(f"state_mismatch:{f.value}:says_{st.value}:labels_{want.value}")
    unsupported.extend(vocabulary_problems(text))
    asserts_present = any(
        st is not State.absent and f is not Finding.no_finding for f, st in asserted.items()
    )
    details = unsupported_details(
        text, ctx.licensed_words, ctx.prior_report is not None, asserts_present
    )
    unsupported.extend(f"detail_not_given:{d.kind.value}:{d.text}" for d in details)
    if ctx.require_evidence:
        unsupported.extend(_evidence_problems(s, asserted, ctx))
    if crosscheck is not None:
        unsupported.extend(crosscheck.check(text, ctx.labels))
    if contradicted:
        verdict = Verdict.contradicted
    elif unsupported:
        verdict = Verdict.unsupported
    else:
        verdict = Verdict.supported
    return SentenceVerdict(
        text=s.text,
        verdict=verdict,
        reasons=tuple(dict.fromkeys(contradicted + unsupported)),
        asserted=asserted,
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
    crosscheck: SentenceCheck | None = None,
) -> list[SentenceVerdict]:
    """Verify free text (e.g. a radiologist's or another model's draft), sentence by sentence.

    Free text cites no passages, so only the label set and the request text can support it.
    """
    ctx = VerificationContext(
        labels=labels, indication=indication, prior_report=prior_report, require_evidence=False
    )
    return [verify_sentence(s, ctx, labeler, crosscheck) for s in split_sentences(text)]
