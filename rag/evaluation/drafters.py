"""What an evaluation run drafts with: the guarded pipeline, or a baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rag.adapters.iu_xray import IUReport
from rag.domain import DraftRequest, Finding, ImageEncoding, LabelSet, State, Verdict
from rag.pipeline import ReportPipeline
from rag.ports import Labeler, SentenceCheck


@dataclass(frozen=True)
class EvalCase:
    """One study to draft: its id, label set, optional indication and reference.

    The reference is a report text to label (IU X-ray), or, for datasets without reports
    (NIH images), `reference` is "" and `reference_labels` holds the dataset's labels with
    `scored` the findings those labels cover.
    """

    id: str
    labels: LabelSet
    reference: str
    indication: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    reference_labels: dict[Finding, State] | None = None
    scored: frozenset[Finding] | None = None  # None: every finding
    encoding: ImageEncoding | None = None  # the encoder's answer when labels came from images
    # The encoder's calibrated probabilities, scored against the reference for reliability.
    probabilities: dict[Finding, float] | None = None


@dataclass(frozen=True)
class Outcome:
    """What a drafter returned for one case."""

    status: str  # drafted | abstained
    sentences: list[str]
    abstention: list[str] = field(default_factory=list)
    # Confidence used to rank cases for coverage-risk curves (None when abstained).
    score: float | None = None
    verdicts: list[dict[str, object]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The draft as one text."""
        return " ".join(self.sentences)


class Drafter(Protocol):
    """Drafts one evaluation case."""

    name: str

    def draft(self, case: EvalCase) -> Outcome:
        """Draft a case."""
        ...


class GuardedDrafter:
    """The service's pipeline: generate, verify, repair or abstain."""

    def __init__(self, pipeline: ReportPipeline, name: str) -> None:
        self.pipeline = pipeline
        self.name = name

    def draft(self, case: EvalCase) -> Outcome:
        """Draft through the pipeline; score = share of sentences that passed as written."""
        r = self.pipeline.draft(DraftRequest(labels=case.labels, indication=case.indication))
        verdicts = [
            {"text": v.text, "verdict": v.verdict.value, "reasons": list(v.reasons)}
            for v in r.verdicts
        ]
        if r.report is None:
            codes = [x.code for x in r.abstention.reasons] if r.abstention else []
            return Outcome("abstained", [], codes, None, verdicts)
        passed = sum(1 for v in r.verdicts if v.verdict is Verdict.supported)
        score = passed / len(r.verdicts) if r.verdicts else 0.0
        sents = [s.text for s in r.report.findings + r.report.impression]
        return Outcome("drafted", sents, [], score, verdicts)


class RetrievalBaseline:
    """CXR-RePaiR-style baseline: the train report whose labels best match, verbatim.

    No generation and no verification: it shows what copying a similar report costs.
    """

    name = "retrieval"

    def __init__(self, train: list[IUReport], labeler: Labeler) -> None:
        from rag.labeler import split_sentences

        self._split = split_sentences
        self._bank = [(r, labeler.label_report(r.text)) for r in train if r.text]  # type: ignore[attr-defined]

    def draft(self, case: EvalCase) -> Outcome:
        """Copy the most similar train report; the score is its label agreement."""
        want = {f: lab.state for f, lab in case.labels.findings.items()}
        best, best_sim = None, -1.0
        for rep, labels in self._bank:
            sim = _similarity(want, labels)
            if sim > best_sim:
                best, best_sim = rep, sim
        assert best is not None
        return Outcome("drafted", self._split(best.text), [], best_sim)


class ReferenceCeiling:
    """Not a generator: the reference's own sentences that pass the guard (a ceiling).

    What a perfect guarded generator could copy from the radiologist: every sentence of
    the reference checked against the case's labels by the verifier with the independent
    check, the failing ones dropped. Its BLEU and ROUGE bound what any draft the guard lets
    through can score by copying the reference's wording.
    """

    name = "reference-ceiling"

    def __init__(self, labeler: Labeler, crosscheck: SentenceCheck | None) -> None:
        self.labeler, self.crosscheck = labeler, crosscheck

    def draft(self, case: EvalCase) -> Outcome:
        """The reference's sentences that pass; abstains when none does."""
        from rag.stages.verify import verify_text

        verdicts = verify_text(
            case.reference, case.labels, self.labeler, case.indication, crosscheck=self.crosscheck
        )
        kept = [v.text for v in verdicts if v.verdict is Verdict.supported]
        if not kept:
            return Outcome("abstained", [], ["nothing_verifiable"])
        return Outcome("drafted", kept, [], len(kept) / len(verdicts))


def _similarity(a: dict[Finding, State], b: dict[Finding, State]) -> float:
    """Agreement of two label dicts: matches minus mismatches over their union."""
    keys = (set(a) | set(b)) - {Finding.no_finding}
    if not keys:
        return 0.0
    score = sum(1 if a.get(f) is b.get(f) else -1 for f in keys)
    return score / len(keys)
