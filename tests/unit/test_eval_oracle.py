"""The eval's oracle label sets (attributes, a MeSH-normal study), the side/severity judge
and the reference ceiling."""

from __future__ import annotations

import pytest

from rag.adapters.iu_xray import IUReport
from rag.crosscheck.verdict import ContextSentenceCheck
from rag.domain import Finding, LabelSet, Laterality, Severity, State
from rag.evaluation.drafters import EvalCase, ReferenceCeiling
from rag.evaluation.runner import iu_cases, score_case
from rag.evaluation.stated_attributes import judge_attributes, summarize
from rag.labeler import RuleLabeler

pytestmark = pytest.mark.unit

LABELER = RuleLabeler()
F = Finding


def _cases(texts: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, EvalCase]:
    reports = {k: IUReport(k, "", "", t, "", mesh) for k, (t, mesh) in texts.items()}
    cases, _ = iu_cases(reports, list(texts), LABELER)
    return {c.id: c for c in cases}


def test_oracle_carries_stated_attributes_and_a_mesh_normal_study() -> None:
    cases = _cases(
        {
            "eff": ("There is a small left pleural effusion. No pneumothorax.", ("Effusion",)),
            "normal": ("The lungs are clear. No pneumothorax.", ("normal",)),
            "spine": ("The lungs are clear. No pneumothorax.", ("Spondylosis",)),
        }
    )
    attrs = cases["eff"].labels.attributes_of(F.pleural_effusion)
    assert (attrs.laterality, attrs.severity) == (Laterality.left, Severity.small)
    assert cases["eff"].labels.attributes_of(F.pneumothorax).is_empty()
    # Annotated normal: every finding the text did not name is absent too.
    assert cases["normal"].labels.state_of(F.no_finding) is State.present
    assert cases["normal"].labels.effective_state(F.cardiomegaly) is State.absent
    # Annotated with something else: the text's findings only.
    assert cases["spine"].labels.state_of(F.no_finding) is None
    assert cases["spine"].labels.effective_state(F.cardiomegaly) is None


def test_side_and_severity_judge_reads_correct_missing_and_wrong() -> None:
    labels = LabelSet.model_validate(
        {
            "findings": {
                "pleural_effusion": {
                    "state": "present",
                    "attributes": {"laterality": "left", "severity": "small"},
                },
                "pneumothorax": {"state": "absent"},
            }
        }
    )
    ok = "There is a small left pleural effusion. No pneumothorax."
    assert judge_attributes(ok, labels, LABELER) == {"pleural_effusion": "correct"}
    bare = "There is a pleural effusion. No pneumothorax."
    assert judge_attributes(bare, labels, LABELER) == {"pleural_effusion": "missing"}
    wrong = "There is a small right pleural effusion."
    assert judge_attributes(wrong, labels, LABELER) == {"pleural_effusion": "wrong:laterality"}
    records = [
        {"status": "drafted", "attributes": {"pleural_effusion": "correct"}},
        {"status": "drafted", "attributes": {"pleural_effusion": "wrong:laterality"}},
        {"status": "drafted", "attributes": {}},
        {"status": "abstained"},
    ]
    got = summarize(records)
    assert (got["n_cases"], got["stated_correctly_share"], got["cases_stated_wrongly"]) == (
        2,
        0.5,
        1,
    )


def test_scored_record_keeps_the_attributes_it_was_drafted_from() -> None:
    from rag.evaluation.drafters import Outcome

    case = _cases({"eff": ("There is a small left pleural effusion.", ("Effusion",))})["eff"]
    rec = score_case(case, Outcome("drafted", ["There is a pleural effusion."]), LABELER)
    assert rec["inputs"]["attributes"] == {
        "pleural_effusion": {"laterality": "left", "severity": "small"}
    }
    assert rec["attributes"] == {"pleural_effusion": "missing"}


def test_reference_ceiling_keeps_only_what_passes_the_guard() -> None:
    text = (
        "There is a small left pleural effusion. Degenerative changes of the spine. "
        "No pneumothorax."
    )
    case = _cases({"c": (text, ("Effusion",))})["c"]
    out = ReferenceCeiling(LABELER, ContextSentenceCheck()).draft(case)
    assert out.sentences == ["There is a small left pleural effusion.", "No pneumothorax."]
    nothing = EvalCase("n", case.labels, "Degenerative changes of the spine.")
    assert ReferenceCeiling(LABELER, None).draft(nothing).abstention == ["nothing_verifiable"]
