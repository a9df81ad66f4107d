"""The verifier's verdicts on hand-made sentences."""

from __future__ import annotations

import pytest

from rag.domain import DraftSentence, Finding, LabelSet, State, Verdict
from rag.labeler import RuleLabeler
from rag.stages.verify import VerificationContext, verify_sentence
from tests.fakes import definition_passage, sentence_passage

pytestmark = pytest.mark.unit

LABELS = LabelSet.from_states(
    {"cardiomegaly": "present", "pleural_effusion": "absent", "pneumonia": "uncertain"}
)
RETRIEVED = {
    p.id: p
    for p in (
        sentence_passage("ex-heart", "The heart is enlarged."),
        sentence_passage("ex-eff", "No pleural effusion."),
        definition_passage("def-heart", "Cardiomegaly: enlarged heart.", Finding.cardiomegaly),
    )
}
CTX = VerificationContext(labels=LABELS, retrieved=RETRIEVED)


def verdict(
    text: str, evidence: tuple[str, ...] = ("ex-heart",), ctx: VerificationContext = CTX
) -> tuple[Verdict, tuple[str, ...]]:
    v = verify_sentence(DraftSentence(text=text, evidence=evidence), ctx, RuleLabeler())
    return v.verdict, v.reasons


def test_supported() -> None:
    assert verdict("The heart is enlarged.", ("ex-heart", "def-heart")) == (Verdict.supported, ())


@pytest.mark.parametrize(
    "text",
    [
        "Heart size is normal.",  # negation of a present finding
        "Small pleural effusion.",  # presence of an absent finding
        "There is pneumonia.",  # certainty where the label is uncertain
        "No pneumonia.",  # negation of an uncertain finding
    ],
)
def test_contradicted(text: str) -> None:
    assert verdict(text, ("ex-heart", "ex-eff"))[0] is Verdict.contradicted


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("There is a pneumothorax.", "not_assessed:pneumothorax"),
        ("The heart is enlarged, measuring 17 cm.", "detail_not_given:measurement"),
        ("The heart is markedly enlarged.", "detail_not_given:size"),
        ("Cardiomegaly, unchanged from prior.", "detail_not_given:comparison"),
        ("Cardiac pacemaker; the heart is enlarged.", "not_assessed:support_devices"),
        ("The trachea is midline.", "no_ontology_finding"),
    ],
)
def test_unsupported(text: str, reason: str) -> None:
    v, reasons = verdict(text)
    assert v is Verdict.unsupported
    assert any(r.startswith(reason) for r in reasons), reasons


def test_evidence_must_be_retrieved_and_on_topic() -> None:
    v, reasons = verdict("The heart is enlarged.", ("made-up-id",))
    assert v is Verdict.unsupported and "evidence_not_retrieved:made-up-id" in reasons
    v, reasons = verdict("The heart is enlarged.", ("ex-eff",))
    assert v is Verdict.unsupported and "evidence_off_topic:ex-eff" in reasons
    v, reasons = verdict("The heart is enlarged.", ())
    assert v is Verdict.unsupported and reasons[0].startswith("no_evidence")


def test_prior_report_licenses_details_and_the_indication_does_not() -> None:
    prior = VerificationContext(
        labels=LABELS, retrieved=RETRIEVED, prior_report="Markedly enlarged heart."
    )
    assert verdict("The heart is markedly enlarged, unchanged.", ctx=prior)[0] is Verdict.supported
    # An indication is a question, not a finding: its words license nothing.
    asked = VerificationContext(
        labels=LABELS, retrieved=RETRIEVED, indication="markedly short of breath"
    )
    v, reasons = verdict("The heart is markedly enlarged.", ctx=asked)
    assert v is Verdict.unsupported and "detail_not_given:size:markedly" in reasons


def test_free_text_mode_needs_no_citations() -> None:
    ctx = VerificationContext(labels=LABELS, require_evidence=False)
    v = verify_sentence("The heart is enlarged.", ctx, RuleLabeler())
    assert v.verdict is Verdict.supported
    assert v.asserted == {Finding.cardiomegaly: State.present}
