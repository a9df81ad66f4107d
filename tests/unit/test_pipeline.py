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


def _llm(text: str, cite: str, claims: dict, section: str = "findings") -> DraftSentence:
    """A sentence as the LLM generator hands it over: its entry's findings and citation."""
    return DraftSentence(
        text=text, evidence=(cite,), findings=claims, origin="llm", section=section
    )


class _Rejects:
    """A second reader that rejects the given wordings (and nothing else)."""

    name = "rejects"

    def __init__(self, *texts: str) -> None:
        self.texts = set(texts)

    def check(self, sentence: str, labels: LabelSet) -> tuple[str, ...]:
        return ("rejected",) if sentence in self.texts else ()


def _guarded(
    svc: Services,
    findings: list[DraftSentence],
    *reject: str,
    impression: list[DraftSentence] | None = None,
) -> ReportPipeline:
    # Every failure may be repaired: no abstention for the share of failed sentences.
    return ReportPipeline(
        svc.kb.get,
        svc.embedder,
        ScriptedGenerator(findings, impression or []),
        RuleLabeler(),
        DecisionPolicy(min_support_score=-1.0, max_failed_fraction=1.0),
        crosscheck=_Rejects(*reject),
    )


def test_a_failed_sentence_about_several_findings_is_repaired_for_all_of_them(
    tiny_services: Services,
) -> None:
    # One sentence for a present and two absent findings fails (the second reader rejects
    # it, as the crosscheck did "Mild cardiomegaly, no acute pulmonary findings." on IU):
    # the repair says all three findings, not only the first one.
    claims = {
        Finding.cardiomegaly: State.present,
        Finding.pleural_effusion: State.absent,
        Finding.pneumothorax: State.absent,
    }
    text = "Cardiomegaly without pleural effusion or pneumothorax."
    findings = [DraftSentence(text=text, evidence=("ex-1",), findings=claims, origin="llm")]
    labels = LabelSet.from_states(
        {"cardiomegaly": "present", "pleural_effusion": "absent", "pneumothorax": "absent"}
    )
    r = _guarded(tiny_services, findings, text).draft(DraftRequest(labels=labels))
    assert r.report is not None
    assert r.verdicts[0].verdict is not Verdict.supported
    assert [s.text for s in r.report.findings] == [
        "The heart is enlarged.",
        "There is no pleural effusion or pneumothorax.",
    ]
    assert all(s.origin == "repair" for s in r.report.findings)
    said = {f: st for s in r.report.findings for f, st in RuleLabeler().label(s.text).items()}
    assert said == claims
    assert r.repairs[0].action == "replaced"


def test_a_repair_falls_back_to_the_composed_sentence_when_the_kb_one_fails(
    tiny_services: Services,
) -> None:
    # Pneumonia uncertain: the KB's "Possible pneumonia." is the first alternative; when
    # the second reader rejects it too, the composed "There may be pneumonia." is said.
    failed = _llm("Pneumonia is likely.", "ex-9", {Finding.pneumonia: State.uncertain})
    labels = LabelSet.from_states({"pneumonia": "uncertain"})
    pipe = _guarded(tiny_services, [failed], "Pneumonia is likely.")
    assert [s.text for s in pipe.draft(DraftRequest(labels=labels)).report.findings] == [
        "Possible pneumonia."
    ]
    pipe = _guarded(tiny_services, [failed], "Pneumonia is likely.", "Possible pneumonia.")
    r = pipe.draft(DraftRequest(labels=labels))
    assert [s.text for s in r.report.findings] == ["There may be pneumonia."]
    assert [rp.action for rp in r.repairs] == ["replaced"]
    # When every alternative fails, the sentence is dropped and the finding goes unsaid.
    pipe = _guarded(
        tiny_services,
        [failed],
        "Pneumonia is likely.",
        "Possible pneumonia.",
        "There may be pneumonia.",
    )
    r = pipe.draft(DraftRequest(labels=labels))
    assert r.status == "abstained" and [rp.action for rp in r.repairs] == ["dropped"]


def test_a_sentence_that_failed_only_on_its_citation_is_said_again_with_its_own(
    tiny_services: Services,
) -> None:
    # The right words citing a passage about the heart: the repair keeps the words and
    # cites the effusion passages (verified again), instead of leaving the effusion unsaid.
    failed = _llm("No pleural effusion.", "ex-1", {Finding.pleural_effusion: State.absent})
    labels = LabelSet.from_states({"pleural_effusion": "absent"})
    r = _guarded(tiny_services, [failed]).draft(DraftRequest(labels=labels))
    assert r.verdicts[0].verdict is not Verdict.supported
    assert r.report is not None
    (s,) = r.report.findings
    assert (s.text, s.origin) == ("No pleural effusion.", "repair")
    assert "ex-1" not in s.evidence and s.evidence
    assert [rp.action for rp in r.repairs] == ["replaced"]


def test_a_failed_impression_sentence_is_repaired_in_the_impressions_own_words(
    tiny_services: Services,
) -> None:
    body = [DraftSentence(text="The heart is enlarged.", evidence=("ex-1",))]
    bad = _llm(
        "Cardiomegaly, likely severe.", "ex-1", {Finding.cardiomegaly: State.present}, "impression"
    )
    labels = LabelSet.from_states({"cardiomegaly": "present"})
    r = _guarded(tiny_services, body, impression=[bad]).draft(DraftRequest(labels=labels))
    assert r.report is not None
    assert [s.text for s in r.report.findings] == ["The heart is enlarged."]
    # Not the findings sentence again (the KB's only other wording), but the short form.
    assert [(s.text, s.section) for s in r.report.impression] == [("Cardiomegaly.", "impression")]


def test_what_a_shortened_or_skipped_entry_leaves_unsaid_is_added(
    tiny_services: Services,
) -> None:
    # The model wrote "No pneumothorax." for an entry of effusion and pneumothorax absent,
    # and nothing for the heart: every word passes, but two labels went unsaid.
    short = _llm(
        "No pneumothorax.",
        "ex-3",
        {Finding.pleural_effusion: State.absent, Finding.pneumothorax: State.absent},
    )
    labels = LabelSet.from_states(
        {"cardiomegaly": "present", "pleural_effusion": "absent", "pneumothorax": "absent"}
    )
    r = _guarded(tiny_services, [short]).draft(DraftRequest(labels=labels))
    assert r.report is not None
    assert [(s.text, s.origin) for s in r.report.findings] == [
        ("The heart is enlarged.", "repair"),  # heart before pleura (style.SECTIONS)
        ("No pneumothorax.", "llm"),
        ("No pleural effusion.", "repair"),
    ]
    assert [(rp.action, rp.original, rp.replacement) for rp in r.repairs] == [
        ("added", None, "The heart is enlarged."),
        ("added", None, "No pleural effusion."),
    ]
    said = {f: st for s in r.report.findings for f, st in RuleLabeler().label(s.text).items()}
    assert said == {f: labels.effective_state(f) for f in labels.findings}


def test_an_added_sentence_must_pass_the_guard_too(tiny_services: Services) -> None:
    short = _llm(
        "No pneumothorax.",
        "ex-3",
        {Finding.pleural_effusion: State.absent, Finding.pneumothorax: State.absent},
    )
    labels = LabelSet.from_states({"pleural_effusion": "absent", "pneumothorax": "absent"})
    r = _guarded(tiny_services, [short], "No pleural effusion.").draft(DraftRequest(labels=labels))
    assert r.report is not None
    assert [s.text for s in r.report.findings] == ["No pneumothorax."]
    assert r.repairs == ()
