"""The independent check (medspaCy ConText over radiology-semantic-dict terms)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rag.crosscheck import ContextChecker, cross_verdict
from rag.crosscheck.vocabulary import FINDING_ANCHORS, build_vocabulary
from rag.domain import Finding, LabelSet, State

pytestmark = pytest.mark.unit

F, S = Finding, State
ALL = [f for f in Finding if f is not F.no_finding]


def labels(**states: str) -> LabelSet:
    """Every finding but no_finding assessed: absent unless given."""
    return LabelSet.from_states({f.value: states.get(f.value, "absent") for f in ALL})


@pytest.fixture(scope="module")
def checker() -> ContextChecker:
    return ContextChecker()


def verdict(checker: ContextChecker, text: str, ls: LabelSet) -> tuple[bool, tuple[str, ...]]:
    return cross_verdict(checker.read(text), ls)


# The examples, then one row per class found in IU X-ray train reports.
@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "No pneumothorax, pleural effusion is present.",
            {F.pneumothorax: S.absent, F.pleural_effusion: S.present},
        ),
        ("PTX", {F.pneumothorax: S.present}),
        (
            "No pleural effusion but a PTX is present.",
            {F.pleural_effusion: S.absent, F.pneumothorax: S.present},
        ),
        ("Atelectasis may be present.", {F.atelectasis: S.uncertain}),
        # a negation distributes over a list ...
        (
            "No pleural effusion, pneumothorax, or focal consolidation.",
            {F.pleural_effusion: S.absent, F.pneumothorax: S.absent, F.consolidation: S.absent},
        ),
        (
            "There is no focal airspace disease, pleural effusion or pneumothorax seen.",
            {F.lung_opacity: S.absent, F.pleural_effusion: S.absent, F.pneumothorax: S.absent},
        ),
        # ... and ends at a clause boundary
        (
            "No pleural effusion; the heart is enlarged.",
            {F.pleural_effusion: S.absent, F.cardiomegaly: S.present},
        ),
        (
            "No effusion and the heart is enlarged.",
            {F.pleural_effusion: S.absent, F.cardiomegaly: S.present},
        ),
        (
            "Negative for pneumothorax, positive for pleural effusion.",
            {F.pneumothorax: S.absent, F.pleural_effusion: S.present},
        ),
        (
            "No pneumothorax, however there is atelectasis.",
            {F.pneumothorax: S.absent, F.atelectasis: S.present},
        ),
        (
            "Possible small right pleural effusion, no pneumothorax.",
            {F.pleural_effusion: S.uncertain, F.pneumothorax: S.absent},
        ),
        (
            "Possible pneumonia without effusion.",
            {F.pneumonia: S.uncertain, F.pleural_effusion: S.absent},
        ),
        (
            "There is no pneumothorax, although effusion is possible.",
            {F.pneumothorax: S.absent, F.pleural_effusion: S.uncertain},
        ),
        # double negatives and hedges
        ("Cannot exclude pneumonia.", {F.pneumonia: S.uncertain}),
        ("Pneumonia cannot be excluded.", {F.pneumonia: S.uncertain}),
        ("Questionable atelectasis.", {F.atelectasis: S.uncertain}),
        ("Atelectasis versus pneumonia.", {F.atelectasis: S.uncertain, F.pneumonia: S.uncertain}),
        (
            "Streaky opacities may represent atelectasis.",
            {F.lung_opacity: S.present, F.atelectasis: S.uncertain},
        ),
        # a negation inside an organ + predicate phrase
        ("The heart is not enlarged.", {F.cardiomegaly: S.absent}),
        ("The cardiac silhouette is mildly enlarged.", {F.cardiomegaly: S.present}),
        ("The lungs are not clear.", {F.lung_opacity: S.present}),
        # plain-film names the package lacks
        ("Pacemaker in place.", {F.support_devices: S.present}),
        ("Mild pulmonary vascular congestion.", {F.edema: S.present}),
        ("Blunting of the costophrenic angles.", {F.pleural_effusion: S.present}),
        ("Old healed rib fractures.", {F.fracture: S.present}),
        ("Pleural thickening at the apex.", {F.pleural_other: S.present}),
    ],
)
def test_reads_finding_states(checker: ContextChecker, text: str, want: dict) -> None:
    assert checker.read(text).findings == want


def test_out_of_ontology_rides_with_a_finding(checker: ContextChecker) -> None:
    r = checker.read("No pleural effusion; there is a hiatal hernia.")
    assert r.findings == {F.pleural_effusion: S.absent}
    assert r.out_of_ontology == ("hiatal hernia",)
    ok, reasons = cross_verdict(r, labels())
    assert not ok and reasons == ("crosscheck:out_of_ontology:hiatal hernia",)


@pytest.mark.parametrize(
    "text",
    [
        "Calcified granuloma in the left upper lobe.",
        "Degenerative changes of the thoracic spine.",
        "No hiatal hernia.",
    ],
)
def test_any_mention_outside_the_ontology_is_unsupported(
    checker: ContextChecker, text: str
) -> None:
    ok, reasons = verdict(checker, text, labels())
    assert not ok and all(r.startswith("crosscheck:out_of_ontology:") for r in reasons)


def test_comma_opening_a_clause_is_a_state_mismatch(checker: ContextChecker) -> None:
    ok, reasons = verdict(checker, "No pneumothorax, pleural effusion is present.", labels())
    assert not ok
    assert reasons == ("crosscheck:state_mismatch:pleural_effusion:says_present:labels_absent",)


def test_unlikely_is_a_hedge_toward_absence(checker: ContextChecker) -> None:
    r = checker.read("Pneumothorax is unlikely.")
    assert r.findings == {F.pneumothorax: S.uncertain} and F.pneumothorax in r.hedged
    assert not cross_verdict(r, labels(pneumothorax="present"))[0]
    assert cross_verdict(r, labels(pneumothorax="uncertain"))[0]
    assert cross_verdict(r, labels())[0]


def test_hedge_must_match_uncertain_labels(checker: ContextChecker) -> None:
    assert verdict(checker, "Atelectasis may be present.", labels(atelectasis="uncertain"))[0]
    ok, reasons = verdict(checker, "Atelectasis may be present.", labels(atelectasis="present"))
    assert not ok and reasons == (
        "crosscheck:state_mismatch:atelectasis:says_uncertain:labels_present",
    )


def test_normal_statement_is_checked_against_the_lung_findings(checker: ContextChecker) -> None:
    r = checker.read("Both lungs are clear.")
    assert r.findings == {} and r.out_of_ontology == ()
    assert cross_verdict(r, labels())[0]
    ok, reasons = cross_verdict(r, labels(pneumonia="uncertain"))
    assert not ok and reasons == (
        "crosscheck:state_mismatch:pneumonia:says_absent:labels_uncertain",
    )
    # nothing the statement covers was assessed
    ok, reasons = cross_verdict(r, LabelSet.from_states({"cardiomegaly": "present"}))
    assert not ok and reasons == ("crosscheck:not_assessed:lung_opacity",)


def test_normal_study_needs_every_finding_absent(checker: ContextChecker) -> None:
    text = "No acute cardiopulmonary abnormality."
    assert checker.read(text).findings == {F.no_finding: S.present}
    assert verdict(checker, text, labels())[0]
    ok, reasons = verdict(checker, text, labels(cardiomegaly="present"))
    assert not ok and reasons == (
        "crosscheck:state_mismatch:no_finding:says_present:labels_absent",
    )
    ok, reasons = verdict(checker, text, LabelSet.from_states({"pneumothorax": "absent"}))
    assert reasons == ("crosscheck:not_assessed:no_finding",)


def test_unassessed_finding_and_empty_sentence(checker: ContextChecker) -> None:
    ls = LabelSet.from_states({"cardiomegaly": "present"})
    assert verdict(checker, "No pneumothorax.", ls) == (
        False,
        ("crosscheck:not_assessed:pneumothorax",),
    )
    assert verdict(checker, "The trachea is midline.", ls) == (
        False,
        ("crosscheck:no_finding_read",),
    )


def test_label_report_derives_no_finding(checker: ContextChecker) -> None:
    normal = checker.label_report("The lungs are clear. Heart size is normal. No pneumothorax.")
    assert normal[F.no_finding] is S.present and normal[F.pneumothorax] is S.absent
    assert normal[F.cardiomegaly] is S.absent
    sick = checker.label_report("Heart size is normal. Small right pleural effusion.")
    assert sick[F.pleural_effusion] is S.present and sick[F.no_finding] is S.absent
    assert checker.label("Heart size is normal.") == {F.cardiomegaly: S.absent}


def test_vocabulary_comes_from_the_package() -> None:
    vocab = build_vocabulary()
    for finding, names in FINDING_ANCHORS.items():
        for name in names:
            assert vocab.terms.get(" ".join(name.split("(")[0].split()).lower(), finding) is finding
    assert vocab.terms["pneumothorax"] is F.pneumothorax
    assert vocab.terms["ptx"] is F.pneumothorax
    assert vocab.terms["tension ptx"] is F.pneumothorax  # a package synonym
    assert vocab.terms["consolidation"] is F.consolidation  # an anchor outranks a synonym
    assert vocab.terms["hiatal hernia"] is None
    assert len(vocab.out_of_ontology_terms()) > 1000


def test_no_code_shared_with_the_rule_labeler() -> None:
    root = Path(__file__).resolve().parents[2] / "rag" / "crosscheck"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("rag.labeler"), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("rag.labeler") for a in node.names), path.name


def test_alone_on_the_handwritten_challenge_set(checker: ContextChecker) -> None:
    from rag.evaluation.challenge import evaluate, load_handwritten
    from rag.evaluation.checks import CrossCheck

    res = evaluate({"hw": load_handwritten()}, [CrossCheck(checker)])["hw"]["crosscheck"]
    per = res["per_kind"]
    # What this check reads: finding states, hedges, scope, the ontology's edge ...
    for kind in ("negation_flip", "certainty_flip", "fabricated_finding", "global_overreach"):
        assert per[kind]["recall"] == 1.0, kind
    for kind in ("correct", "paraphrase", "given_detail"):
        assert per[kind]["false_alarm_rate"] == 0.0, kind
    # ... not sizes, sides or comparisons, which the verifier's detail rules catch.
    assert per["fabricated_detail"]["recall"] < 1.0


def test_a_negated_term_outside_the_ontology_can_be_allowed(checker: ContextChecker) -> None:
    r = checker.read("No pneumothorax or adenopathy; there is a hiatal hernia.")
    assert r.out_of_ontology == ("adenopathy", "hiatal hernia")
    assert r.out_of_ontology_denied == ("adenopathy",)
    assert cross_verdict(r, labels(), allow_denied_out_of_ontology=True) == (
        False,
        ("crosscheck:out_of_ontology:hiatal hernia",),
    )
    assert len(cross_verdict(r, labels())[1]) == 2


def test_sentences_skip_punctuation_left_over(checker: ContextChecker) -> None:
    assert checker.sentences("No pneumothorax. . Heart size is normal.\nPTX") == [
        "No pneumothorax.",
        "Heart size is normal.",
        "PTX",
    ]
