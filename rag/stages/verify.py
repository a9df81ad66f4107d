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

from dataclasses import dataclass, field, replace

from rag.domain import (
    DraftSentence,
    Finding,
    LabelSet,
    Passage,
    SentenceVerdict,
    State,
    Verdict,
    licensed_details,
)
from rag.domain.compare import Change, compare
from rag.labeler import split_sentences
from rag.labeler.change import claimed_changes
from rag.labeler.details import unsupported_details, words_of
from rag.labeler.scope import read_sentence
from rag.labeler.surface import normalise, surface_problems
from rag.labeler.vocabulary import vocabulary_problems
from rag.ports import Labeler, SentenceCheck
from rag.stages.prior import read_prior
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
    # The prior report read into labels (for_request fills it once per request).
    prior_labels: LabelSet | None = None

    @classmethod
    def for_request(
        cls,
        labels: LabelSet,
        labeler: Labeler,
        indication: str | None = None,
        prior_report: str | None = None,
        **kw: object,
    ) -> VerificationContext:
        """A context with the prior report read once by the verifier's labeler."""
        prior = read_prior(prior_report, labeler) if prior_report and prior_report.strip() else None
        return cls(
            labels=labels,
            indication=indication,
            prior_report=prior_report,
            prior_labels=prior,
            **kw,  # type: ignore[arg-type]
        )

    def licensed_words(self, findings: set[Finding]) -> frozenset[str]:
        """Words that may state details of these findings: their attributes, the prior report.

        Never the indication's: an indication is a question, not a finding.
        """
        words = set(words_of(self.prior_report))
        for labels in (self.labels, self.prior_labels):
            by_finding = licensed_details(labels) if labels is not None else {}
            for f in findings:
                words |= by_finding.get(f, frozenset())
        return frozenset(words)

    def changes(self) -> list[Change]:
        """The change statements the prior and current label sets support (none without one)."""
        return [] if self.prior_labels is None else compare(self.prior_labels, self.labels)


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
    stated = {
        f for f, st in asserted.items() if st is not State.absent and f is not Finding.no_finding
    }
    details = unsupported_details(
        text, ctx.licensed_words(stated), ctx.prior_report is not None, bool(stated)
    )
    unsupported.extend(f"detail_not_given:{d.kind.value}:{d.text}" for d in details)
    if ctx.prior_report is not None:
        if ctx.prior_labels is None:  # built directly, not by for_request: read it here
            ctx = replace(ctx, prior_labels=read_prior(ctx.prior_report, labeler))
        unsupported.extend(_change_problems(text, asserted, ctx))
    if ctx.require_evidence:
        unsupported.extend(_evidence_problems(s, asserted, ctx))
    if crosscheck is not None:
        second = crosscheck.check(text, ctx.labels)
        if second and not contradicted and not unsupported:
            # The rules found it supported, the independent reader did not: say both.
            rules = ",".join(f"{f.value}={st.value}" for f, st in asserted.items())
            unsupported.append(f"checks_disagree:rules_read:{rules}")
        unsupported.extend(second)
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


def _change_problems(
    text: str, asserted: dict[Finding, State], ctx: VerificationContext
) -> list[str]:
    """A change claimed for a finding must be one the two label sets support."""
    claims = claimed_changes(text)
    if not claims:
        return []
    supported = {}
    for c in ctx.changes():
        supported.setdefault(c.finding, set()).add(c.kind)
    return [
        f"change_not_supported:{f.value}:{name}"
        for f in asserted
        if f is not Finding.no_finding
        for name, kinds in claims.items()
        if not kinds & supported.get(f, set())
    ]


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
    ctx = VerificationContext.for_request(
        labels, labeler, indication, prior_report, require_evidence=False
    )
    return [verify_sentence(s, ctx, labeler, crosscheck) for s in split_sentences(text)]
