"""The extractive generator in report style: attributes stated, negatives combined, impression."""

from __future__ import annotations

import pytest

from rag.domain import Finding, FindingAttributes, FindingLabel, LabelSet, State
from rag.kb.store import KnowledgeBase
from rag.labeler import RuleLabeler, find_details
from rag.labeler.details import DetailKind
from rag.stages.generate import ExtractiveGenerator
from rag.stages.retrieve import EmbeddingRetriever, finding_query
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit


def _ls(**findings: str | tuple[str, dict]) -> LabelSet:
    out = {}
    for f, v in findings.items():
        state, attrs = (v, None) if isinstance(v, str) else (v[0], FindingAttributes(**v[1]))
        out[Finding(f)] = FindingLabel(state=State(state), attributes=attrs)
    return LabelSet(findings=out)


@pytest.fixture
def draft(tiny_kb: KnowledgeBase, fake_embedder: HashEmbedder):
    retriever = EmbeddingRetriever(fake_embedder)

    def run(labels: LabelSet, prior: str | None = None) -> tuple[list[str], list[str]]:
        body, imp = ExtractiveGenerator().generate(
            labels, retriever.retrieve(tiny_kb, labels), prior_report=prior
        )
        labeler = RuleLabeler()
        for s in body + imp:
            assert s.evidence, s.text
            # What a sentence claims is what the labeler reads in it.
            said = {f: st for f, st in labeler.label(s.text).items() if f is not Finding.no_finding}
            assert said == s.findings, s.text
        return [s.text for s in body], [s.text for s in imp]

    return run


def test_attributes_are_stated_and_the_impression_differs(draft) -> None:
    labels = _ls(
        pleural_effusion=("present", {"laterality": "left", "severity": "small"}),
        pneumothorax="absent",
        cardiomegaly="present",
    )
    body, imp = draft(labels)
    assert body == [
        "The heart is enlarged.",
        "There is a small left pleural effusion.",
        "No pneumothorax.",
    ]
    assert imp == ["Small left pleural effusion.", "Cardiomegaly."]


def test_a_knowledge_base_sentence_that_states_the_attributes_is_preferred(draft) -> None:
    body, imp = draft(_ls(pleural_effusion=("present", {"laterality": "left"})))
    assert body == ["Left pleural effusion."]  # a radiologist's wording, side licensed
    assert imp == ["Findings consistent with left pleural effusion."]  # never verbatim


def test_without_attributes_no_detail_is_stated(draft) -> None:
    body, imp = draft(_ls(pleural_effusion="present", cardiomegaly="present"))
    assert not [d for t in body + imp for d in find_details(t)]
    assert "Left pleural effusion." not in body


def test_a_partly_assessed_normal_study_says_only_what_its_labels_license(draft) -> None:
    # Seven findings absent, the rest unassessed: "No acute cardiopulmonary abnormality."
    # would speak for the whole chest, so the impression says what the airspace label does.
    labels = _ls(
        **dict.fromkeys(
            [
                "lung_opacity",
                "consolidation",
                "pneumonia",
                "edema",
                "pleural_effusion",
                "pneumothorax",
                "cardiomegaly",
            ],
            "absent",
        )
    )
    body, imp = draft(labels)
    assert imp == ["No acute airspace disease."]
    assert body == [
        "The heart size is normal.",
        "No focal airspace disease, focal consolidation, pneumonia, or pulmonary edema.",
        "There is no pleural effusion or pneumothorax.",
    ]


def test_changes_since_a_prior_are_stated_as_comparisons(draft) -> None:
    labels = _ls(
        pleural_effusion=("present", {"laterality": "left", "severity": "moderate"}),
        cardiomegaly=("present", {"severity": "mild"}),
        pneumothorax="absent",
    )
    prior = "Small left pleural effusion. Mild cardiomegaly. Small right pneumothorax."
    _, imp = draft(labels, prior)
    assert imp == [
        "Increased size of the left pleural effusion, now moderate.",
        "Stable mild cardiomegaly.",
        "Interval resolution of the small right pneumothorax.",
    ]


def test_no_comparison_without_a_prior(draft) -> None:
    labels = _ls(pleural_effusion="present", cardiomegaly="present", pneumothorax="absent")
    body, imp = draft(labels)
    kinds = {d.kind for t in body + imp for d in find_details(t)}
    assert DetailKind.comparison not in kinds


def test_retrieval_query_carries_the_attributes() -> None:
    labels = _ls(
        pleural_effusion=("present", {"laterality": "left", "severity": "small"}),
        atelectasis=("uncertain", {"location": "lower_lobe"}),
    )
    q = [finding_query(f, lab.state, lab.attributes) for f, lab in labels.findings.items()]
    assert q == [
        "small left pleural effusion",
        "possible lower lobe atelectasis",
    ]
    assert finding_query(Finding.pleural_effusion, State.absent) == "no pleural effusion"


def test_a_normal_study_reads_like_a_normal_report(draft) -> None:
    # Labelled normal: the usual normal statements (those the tiny KB has passages for)
    # and IU's commonest impression, not a list of every other finding denied.
    body, imp = draft(_ls(no_finding="present"))
    assert body == [
        "The heart size is normal.",
        "No focal airspace disease, focal consolidation, pneumonia, or pulmonary edema.",
        "There is no pleural effusion or pneumothorax.",
    ]
    assert imp == ["No acute cardiopulmonary abnormality."]
    # A finding the label set names explicitly is still a talking point.
    from rag.stages.retrieve import talking_points

    assert (Finding.fracture, State.absent) not in talking_points(_ls(no_finding="present"))
    named = _ls(no_finding="present", fracture="absent")
    assert (Finding.fracture, State.absent) in talking_points(named)
