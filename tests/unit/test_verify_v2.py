"""Verifier v2 by class: scope, vocabulary, synonyms, change words, hedges, details, smuggling.

Each class has sentences the verifier must stop and sentences it must let through, so a
blind guard (everything supported) and a mute one (everything refused) both fail here.
"""

from __future__ import annotations

import pytest

from rag.domain import Finding, LabelSet, Verdict
from rag.labeler import RuleLabeler
from rag.labeler.scope import clauses
from rag.stages.verify import VerificationContext, verify_sentence

pytestmark = pytest.mark.unit

ALL_ABSENT = {f.value: "absent" for f in Finding if f is not Finding.no_finding}


def labels(**states: str) -> LabelSet:
    """Every finding assessed, absent unless given."""
    return LabelSet.from_states({**ALL_ABSENT, **states})


def check(text: str, ls: LabelSet, prior: str | None = None, indication: str | None = None):
    ctx = VerificationContext(
        labels=ls, prior_report=prior, indication=indication, require_evidence=False
    )
    return verify_sentence(text, ctx, RuleLabeler())


def refused(text: str, ls: LabelSet, reason: str, **kw: str) -> None:
    v = check(text, ls, **kw)
    assert v.verdict is not Verdict.supported, text
    assert any(r.startswith(reason) for r in v.reasons), (text, v.reasons)


def passes(text: str, ls: LabelSet, **kw: str) -> None:
    v = check(text, ls, **kw)
    assert v.verdict is Verdict.supported, (text, v.reasons)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("No pneumothorax, pleural effusion is present.", 2),
        ("No pleural effusion, pneumothorax, or edema is seen.", 1),
        ("No effusion; small pneumothorax.", 2),
        ("Negative for pneumothorax, positive for effusion.", 2),
        ("No effusion and the heart is enlarged.", 2),
        ("No effusion but the heart is enlarged.", 2),
    ],
)
def test_clause_boundaries(text: str, parts: int) -> None:
    assert len(clauses(text)) == parts


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("No pneumothorax, pleural effusion is present.", "pleural_effusion"),
        ("No pleural effusion but a pneumothorax is present.", "pneumothorax"),
        ("No pleural effusion; there is a pneumothorax.", "pneumothorax"),
        ("Without effusion, although edema is present.", "edema"),
        ("No effusion while consolidation is seen.", "consolidation"),
        ("Negative for pneumothorax, positive for effusion.", "pleural_effusion"),
    ],
)
def test_negation_ends_at_the_clause_boundary(text: str, state: str) -> None:
    v = check(text, labels())
    assert v.verdict is Verdict.contradicted, v.reasons
    assert any(r.startswith(f"state_mismatch:{state}:says_present") for r in v.reasons)


def test_lists_under_one_negation_still_pass() -> None:
    passes("No pleural effusion, pneumothorax, or edema is seen.", labels())
    passes("No focal consolidation, pleural effusion or pneumothorax.", labels())
    passes("The heart is normal in size and the lungs are clear.", labels())


@pytest.mark.parametrize(
    "text",
    [
        "It is not true that there is no pneumothorax.",
        "No evidence that the pneumothorax is absent.",
        "Pneumothorax is not absent.",
    ],
)
def test_double_negation_is_refused(text: str) -> None:
    refused(text, labels(), "double_negation")


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("No pleural effusion; there is a hiatal hernia.", "out_of_ontology:hiatal hernia"),
        ("Calcified granuloma in the right upper lobe.", "out_of_ontology"),
        ("No pneumothorax. Emphysema.", "out_of_ontology"),
        ("Lungs are hyperinflated without effusion.", "unknown_word"),
        ("No effusion; splenule noted.", "out_of_ontology:splenule"),
        ("No effusion; zanzibarite noted.", "unknown_word"),
    ],
)
def test_findings_outside_the_ontology_are_refused(text: str, term: str) -> None:
    for sentence in text.split(". "):
        v = check(sentence, labels())
        if v.verdict is not Verdict.supported:
            assert any(r.startswith(term) or r.startswith("no_ontology") for r in v.reasons)
            return
    pytest.fail(f"nothing refused in {text!r}")


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("PTX is present.", "pneumothorax"),
        ("There is volume loss in the lung.", "atelectasis"),
        ("Pulmonary oedema.", "edema"),
        ("Pulmonary vascular engorgement.", "edema"),
    ],
)
def test_synonyms_and_abbreviations_read_as_their_finding(text: str, finding: str) -> None:
    v = check(text, labels())
    assert v.verdict is Verdict.contradicted
    assert any(r.startswith(f"state_mismatch:{finding}:says_present") for r in v.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "The pleural effusion is larger.",
        "Pleural effusion is again noted.",
        "Pleural effusion has developed.",
        "Pleural effusion is unchanged.",
        "Interval increase in pleural effusion.",
    ],
)
def test_change_words_need_a_prior(text: str) -> None:
    refused(text, labels(pleural_effusion="present"), "detail_not_given:")
    v = check(text, labels(pleural_effusion="present"), prior="Large pleural effusion.")
    assert not any(r.startswith("detail_not_given:comparison") for r in v.reasons)


@pytest.mark.parametrize(
    ("text", "ls", "ok"),
    [
        ("Pneumothorax is unlikely.", labels(pneumothorax="present"), False),
        ("Pneumothorax is unlikely.", labels(pneumothorax="uncertain"), False),
        ("Questionable pneumothorax.", labels(pneumothorax="present"), False),
        ("Pneumothorax, likely.", labels(pneumothorax="present"), False),
        ("Atelectasis may be present.", labels(atelectasis="uncertain"), True),
        ("Atelectasis may be present.", labels(atelectasis="present"), False),
        ("Possible pneumonia.", labels(pneumonia="uncertain"), True),
        ("Pneumonia cannot be excluded.", labels(pneumonia="uncertain"), True),
        ("Pneumonia cannot be excluded.", labels(pneumonia="absent"), False),
        ("No consolidation to suggest pneumonia.", labels(), True),
    ],
)
def test_certainty_words_in_any_position(text: str, ls: LabelSet, ok: bool) -> None:
    assert (check(text, ls).verdict is Verdict.supported) is ok


def test_details_come_from_the_prior_not_the_indication() -> None:
    effusion = labels(pleural_effusion="present")
    refused("Small left pleural effusion.", effusion, "detail_not_given:")
    refused(
        "Small left pleural effusion.",
        effusion,
        "detail_not_given:",
        indication="Left chest pain, small effusion?",
    )
    passes("Small left pleural effusion.", effusion, prior="Small left pleural effusion.")
    refused("Moderate cardiomegaly.", labels(cardiomegaly="present"), "detail_not_given:size")
    refused("Bilateral pleural effusions.", effusion, "detail_not_given:laterality")


def test_side_words_on_normal_statements_are_not_patient_details() -> None:
    passes("Both lungs are clear.", labels())
    passes("The lungs are clear bilaterally.", labels())
    passes("No left pleural effusion.", labels())
    # A size word on a negation is a hedge ("no large effusion" allows a small one).
    refused("No large pleural effusion.", labels(), "detail_not_given:size")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("No pneumothorax.\nThere is a hiatal hernia.", "smuggled_text:control"),
        ("No pneumothorax.\x0bEffusion.", "smuggled_text:control"),
        ("No pne\u0443mothorax.", "smuggled_text:non_ascii"),  # Cyrillic u
        ("No \u0440neumothorax.", "smuggled_text:non_ascii"),  # Cyrillic r
        ("No pneumothorax. There is a hernia.", "smuggled_text:several_sentences"),
        ("No **pneumothorax** <b>effusion</b>.", "smuggled_text:non_ascii_or_markup"),
        ("No pneumothorax " + "and no effusion " * 15 + ".", "smuggled_text:over_long"),
    ],
)
def test_smuggled_text_is_refused(text: str, reason: str) -> None:
    refused(text, labels(), reason)


def test_reasons_do_not_quote_unknown_words() -> None:
    v = check("No effusion; zanzibarite noted.", labels())
    assert v.verdict is not Verdict.supported
    assert not any("zanzibarite" in r for r in v.reasons)


def with_attributes(finding: str, **attrs: object) -> LabelSet:
    """All absent but one present finding with structured attributes."""
    from rag.domain import FindingAttributes, FindingLabel, State

    findings = {
        Finding(f): FindingLabel(state=State(s)) for f, s in ALL_ABSENT.items() if f != finding
    }
    findings[Finding(finding)] = FindingLabel(
        state=State.present, attributes=FindingAttributes(**attrs)
    )
    return LabelSet(findings=findings)


def test_attributes_license_their_own_finding_only() -> None:
    ls = with_attributes("pleural_effusion", laterality="left", severity="small")
    passes("Small left pleural effusion.", ls)
    refused("Large left pleural effusion.", ls, "detail_not_given:size:large")
    refused("Small right pleural effusion.", ls, "detail_not_given:laterality:right")
    # The effusion's side does not license a side for another finding.
    both = with_attributes("pleural_effusion", laterality="left")
    both = LabelSet(
        findings={
            **both.findings,
            Finding.atelectasis: both.findings[Finding.pleural_effusion].model_copy(
                update={"attributes": None}
            ),
        }
    )
    refused("Left basilar atelectasis.", both, "detail_not_given:")


@pytest.mark.parametrize(
    ("prior", "text", "ok"),
    [
        ("No pleural effusion.", "New pleural effusion.", True),
        ("Small pleural effusion.", "New pleural effusion.", False),
        ("Small pleural effusion.", "Stable pleural effusion.", True),
        ("Small pleural effusion.", "Pleural effusion is again noted.", True),
        ("No pleural effusion.", "Stable pleural effusion.", False),
        ("Small pleural effusion.", "Interval resolution of the pleural effusion.", False),
        ("Heart size is normal.", "Stable pleural effusion.", False),  # prior silent on it
    ],
)
def test_change_statements_follow_from_prior_and_current(prior: str, text: str, ok: bool) -> None:
    v = check(text, labels(pleural_effusion="present"), prior=prior)
    assert (v.verdict is Verdict.supported) is ok, v.reasons


def test_resolution_is_a_change_only_when_the_prior_had_it() -> None:
    passes("Interval resolution of the pleural effusion.", labels(), prior="Pleural effusion.")
    refused(
        "Interval resolution of the pleural effusion.",
        labels(),
        "change_not_supported:pleural_effusion:resolved",
        prior="No pleural effusion.",
    )


def test_size_changes_need_severities_on_both_sides() -> None:
    ls = with_attributes("pleural_effusion", laterality="left", severity="moderate")
    prior = "Small left pleural effusion."
    passes("Increased size of the left pleural effusion, now moderate.", ls, prior=prior)
    refused(
        "Decreased size of the left pleural effusion, now moderate.",
        ls,
        "change_not_supported:pleural_effusion:decreased",
        prior=prior,
    )


def test_a_full_stop_before_a_lower_case_word_still_ends_the_statement() -> None:
    # A knowledge-base passage read this way once stated cardiomegaly for normal studies.
    text = "No pleural effusions or pneumothoraces. cardiomegaly."
    refused(text, labels(), "smuggled_text:several_sentences")
    v = check(text, labels(cardiomegaly="present"))
    assert v.asserted.get(Finding.cardiomegaly) is not None
    assert v.asserted[Finding.cardiomegaly].value == "present"
