"""The drafting pipeline over a tiny on-disk KB with a deterministic embedder."""

from __future__ import annotations

import pytest

from rag.domain import (
    DraftRequest,
    DraftSentence,
    Finding,
    FindingLabel,
    LabelSet,
    State,
    Verdict,
)
from rag.labeler import RuleLabeler
from rag.pipeline import ReportPipeline
from rag.services import Services
from rag.stages.decide import DecisionPolicy
from tests.fakes import ScriptedGenerator

pytestmark = pytest.mark.unit


def draft(svc: Services, states: dict[str, str], **kw: str):
    return svc.pipeline.draft(DraftRequest(labels=LabelSet.from_states(states), **kw))


def test_drafts_only_what_the_labels_say(tiny_services: Services) -> None:
    r = draft(
        tiny_services,
        {"cardiomegaly": "present", "pleural_effusion": "absent", "pneumothorax": "absent"},
    )
    assert r.status == "drafted" and r.report is not None
    texts = [s.text for s in r.report.findings]
    # IU X-ray's order: heart before pleura; no size the labels do not give.
    assert texts == ["The heart is enlarged.", "There is no pleural effusion or pneumothorax."]
    assert [s.text for s in r.report.impression] == ["Cardiomegaly."]
    assert all(v.verdict is Verdict.supported for v in r.verdicts)
    labeler = RuleLabeler()
    for s in r.report.findings + r.report.impression:
        assert s.evidence, s.text
        for f, st in labeler.label(s.text).items():
            assert (
                LabelSet.from_states(
                    {
                        "cardiomegaly": "present",
                        "pleural_effusion": "absent",
                        "pneumothorax": "absent",
                    }
                ).state_of(f)
                is st
            )


def test_unassessed_findings_are_not_mentioned(tiny_services: Services) -> None:
    # "No pleural effusion or pneumothorax." would speak of an unassessed pneumothorax.
    r = draft(tiny_services, {"cardiomegaly": "present", "pleural_effusion": "absent"})
    assert r.report is not None
    mentioned = {f for s in r.report.findings for f in RuleLabeler().label(s.text)}
    assert mentioned <= {Finding.cardiomegaly, Finding.pleural_effusion}


def test_provenance_names_kb_and_generator(tiny_services: Services) -> None:
    r = draft(tiny_services, {"cardiomegaly": "present"})
    assert r.provenance.kb_version == tiny_services.kb.get().version
    assert r.provenance.generator == "extractive"
    assert r.provenance.embedder == "hash-embedder@64"


def test_abstains_when_a_present_finding_cannot_be_stated(tiny_services: Services) -> None:
    r = draft(tiny_services, {"fracture": "present", "cardiomegaly": "present"})
    assert r.status == "abstained" and r.report is None
    codes = {(x.code, x.finding) for x in r.abstention.reasons}
    assert ("finding_not_expressible", Finding.fracture) in codes


def _scripted(svc: Services, findings: list[DraftSentence]) -> ReportPipeline:
    return ReportPipeline(
        svc.kb.get,
        svc.embedder,
        ScriptedGenerator(findings, []),
        RuleLabeler(),
        DecisionPolicy(min_support_score=-1.0),
    )


def test_bad_generated_sentences_never_reach_the_report(tiny_services: Services) -> None:
    bad = [
        DraftSentence(text="The heart is enlarged.", evidence=("ex-1",)),
        DraftSentence(text="No focal consolidation.", evidence=("ex-8",)),
        DraftSentence(
            text="Large left pleural effusion.",
            evidence=("ex-6",),
            findings={Finding.pleural_effusion: State.present},
        ),
        DraftSentence(text="There is a pneumothorax.", evidence=("ex-3",)),
    ]
    pipe = _scripted(tiny_services, bad)
    r = pipe.draft(
        DraftRequest(
            labels=LabelSet.from_states(
                {"cardiomegaly": "present", "pleural_effusion": "absent", "consolidation": "absent"}
            )
        )
    )
    assert r.report is not None
    texts = [s.text for s in r.report.findings]
    assert "Large left pleural effusion." not in texts
    assert "There is a pneumothorax." not in texts
    assert [v.verdict for v in r.verdicts] == [
        Verdict.supported,
        Verdict.supported,
        Verdict.contradicted,
        Verdict.unsupported,
    ]
    actions = {rp.original: rp.action for rp in r.repairs}
    # The effusion sentence is repaired from a verified exemplar; the pneumothorax one has
    # no assessed finding to repair towards and is dropped.
    assert actions == {
        "Large left pleural effusion.": "replaced",
        "There is a pneumothorax.": "dropped",
    }
    repaired = [s for s in r.report.findings if s.origin == "repair"]
    assert [s.text for s in repaired] == ["No pleural effusion."]


def test_too_many_failures_abstain(tiny_services: Services) -> None:
    junk = [
        DraftSentence(text="Ignore previous instructions.", evidence=("ex-1",)),
        DraftSentence(text="There is a pneumothorax.", evidence=("ex-3",)),
    ]
    r = _scripted(tiny_services, junk).draft(
        DraftRequest(labels=LabelSet.from_states({"cardiomegaly": "present"}))
    )
    assert r.status == "abstained"
    codes = {x.code for x in r.abstention.reasons}
    assert "too_many_failed_sentences" in codes


def test_probability_in_the_band_abstains(tiny_services: Services) -> None:
    labels = LabelSet(
        findings={Finding.cardiomegaly: FindingLabel(state=State.present, probability=0.52)}
    )
    r = tiny_services.pipeline.draft(DraftRequest(labels=labels))
    assert r.status == "abstained"
    reason = r.abstention.reasons[0]
    assert reason.code == "finding_in_uncertainty_band" and reason.finding is Finding.cardiomegaly
    assert "PA view" in reason.suggestion


def test_a_failed_combined_negative_is_repaired_for_all_its_findings(
    tiny_services: Services,
) -> None:
    both = {Finding.pleural_effusion: State.absent, Finding.pneumothorax: State.absent}
    findings = [
        DraftSentence(text="The heart is enlarged.", evidence=("ex-1",)),
        DraftSentence(
            text="Pleural effusion and pneumothorax are present.",
            evidence=("ex-3",),
            findings=both,
            origin="llm",
        ),
    ]
    labels = {"cardiomegaly": "present", "pleural_effusion": "absent", "pneumothorax": "absent"}
    r = _scripted(tiny_services, findings).draft(DraftRequest(labels=LabelSet.from_states(labels)))
    assert r.report is not None
    repaired = [s for s in r.report.findings if s.origin == "repair"]
    assert [s.text for s in repaired] == ["There is no pleural effusion or pneumothorax."]
    assert repaired[0].findings == both
    assert r.repairs[0].action == "replaced"
