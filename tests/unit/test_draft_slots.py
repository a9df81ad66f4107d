"""Prompt v2: slots in report style, a schema that depends on the label set only, the parse."""

from __future__ import annotations

import json

import pytest

from rag.adapters.vllm_generator import VLLMGenerator
from rag.domain import (
    DraftRequest,
    Finding,
    FindingAttributes,
    FindingLabel,
    LabelSet,
    State,
    Verdict,
)
from rag.domain.compare import ChangeKind
from rag.kb.store import KnowledgeBase
from rag.labeler import RuleLabeler
from rag.pipeline import ReportPipeline
from rag.prompts import load_prompt, render_slot_messages
from rag.services import Services
from rag.stages import style
from rag.stages.draft_schema import InvalidDraft
from rag.stages.draft_slots import (
    draft_slots,
    parse_slots,
    slot_passages,
    slots_schema,
    suggested_wording,
)
from rag.stages.generate import prior_changes
from rag.stages.retrieve import EmbeddingRetriever
from tests.fake_openai import FakeOpenAI, answer_schema
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit


def _ls(**findings: str | tuple[str, dict]) -> LabelSet:
    out = {}
    for f, v in findings.items():
        state, attrs = (v, None) if isinstance(v, str) else (v[0], FindingAttributes(**v[1]))
        out[Finding(f)] = FindingLabel(state=State(state), attributes=attrs)
    return LabelSet(findings=out)


LABELS = _ls(
    cardiomegaly="present",
    pleural_effusion=("present", {"laterality": "left", "severity": "small"}),
    pneumothorax="absent",
    edema="absent",
    consolidation="absent",
)


@pytest.fixture
def retrieve(tiny_kb: KnowledgeBase, fake_embedder: HashEmbedder):
    return lambda labels: EmbeddingRetriever(fake_embedder).retrieve(tiny_kb, labels)


def _about(slots) -> list[tuple[list[str], str]]:
    return [([f.value for f in s.findings], s.state.value) for s in slots]


def test_slots_follow_report_order_and_combine_negatives(retrieve) -> None:
    body, imp = draft_slots(LABELS, retrieve(LABELS))
    assert _about(body) == [
        (["cardiomegaly"], "present"),  # heart first, as IU X-ray's radiologists write
        (["pleural_effusion"], "present"),
        (["consolidation", "edema", "pneumothorax"], "absent"),  # lungs and pleura together
    ]
    assert _about(imp) == [(["pleural_effusion"], "present"), (["cardiomegaly"], "present")]
    assert imp[0].attributes.laterality == "left"


def test_schema_is_the_same_for_the_same_label_set(retrieve, tiny_kb: KnowledgeBase) -> None:
    evidence = retrieve(LABELS)
    one = slots_schema(*draft_slots(LABELS, evidence))
    # Other passages retrieved (fewer of them): the schema does not change.
    trimmed = {f: evs[:1] for f, evs in evidence.items()}
    assert slots_schema(*draft_slots(LABELS, trimmed)) == one
    text = json.dumps(one)
    assert not any(p.id in text for p in tiny_kb.passages)  # positions, not ids
    entry = one["properties"]["findings"]["prefixItems"][1]["properties"]
    assert entry["about"] == {"enum": ["pleural_effusion: present; small, left"]}
    other = _ls(**{**{f.value: "absent" for f in LABELS.findings}, "cardiomegaly": "present"})
    assert slots_schema(*draft_slots(other, retrieve(other))) != one


def test_parse_maps_positions_to_passages_and_rejects_other_findings(retrieve) -> None:
    evidence = retrieve(LABELS)
    body, imp = draft_slots(LABELS, evidence)
    shown = slot_passages(body, LABELS, evidence)
    answer = answer_schema(slots_schema(body, imp))
    out_body, out_imp = parse_slots(json.dumps(answer), body, imp, shown)
    assert out_body[2].findings == dict.fromkeys(
        [Finding.consolidation, Finding.edema, Finding.pneumothorax], State.absent
    )
    assert out_body[2].evidence == (shown[2][0].id,)
    # The impression cites what the findings cited for the same finding.
    assert out_imp[0].findings == out_body[1].findings
    assert out_imp[0].evidence == out_body[1].evidence
    answer["findings"][0]["cite"] = [9]  # past what was shown: cites nothing
    assert parse_slots(json.dumps(answer), body, imp, shown)[0][0].evidence == ()
    answer["findings"][0]["about"] = "edema: present"
    with pytest.raises(InvalidDraft, match="findings\\[0\\]"):
        parse_slots(json.dumps(answer), body, imp, shown)


def test_prompt_v2_has_a_fixed_system_text_and_numbered_references(retrieve) -> None:
    prompt = load_prompt("draft_report", "v2")
    evidence = retrieve(LABELS)
    body, imp = draft_slots(LABELS, evidence)
    msgs = render_slot_messages(
        prompt, body, imp, slot_passages(body, LABELS, evidence), None, None
    )
    other = _ls(edema="present")
    ob, oi = draft_slots(other, retrieve(other))
    msgs2 = render_slot_messages(
        prompt, ob, oi, slot_passages(ob, other, retrieve(other)), "x", None
    )
    assert msgs[0] == msgs2[0]  # the cached prefix: identical system text
    user = msgs[1]["content"]
    assert "1. cardiomegaly: present\n   [1] " in user
    assert "2. pleural_effusion: present; small, left\n   [1] " in user
    assert (
        "3. consolidation, edema, pneumothorax: absent (one sentence for all, "
        'e.g. "No focal consolidation, pulmonary edema, or pneumothorax.")' in user
    )


def test_changes_from_a_prior_become_impression_slots(retrieve) -> None:
    prior = "Small right pneumothorax. Small left pleural effusion."
    changes = prior_changes(LABELS, prior, RuleLabeler())
    _, imp = draft_slots(LABELS, retrieve(LABELS), changes)
    kinds = {s.findings[0].value: s.change for s in imp}
    assert kinds == {
        "pleural_effusion": ChangeKind.unchanged,
        "cardiomegaly": None,  # the prior did not speak of the heart
        "pneumothorax": ChangeKind.resolved,
    }


def test_v2_generator_drafts_verified_combined_negatives(tiny_services: Services) -> None:
    fake = FakeOpenAI()
    gen = VLLMGenerator(
        "http://vllm.test",
        "fake-llm",
        load_prompt("draft_report", "v2"),
        transport=fake.transport(),
    )
    p = tiny_services.pipeline
    pipe = ReportPipeline(tiny_services.kb.get, p.embedder, gen, p.labeler, p.policy)
    labels = LabelSet.from_states(
        {"cardiomegaly": "present", "pleural_effusion": "absent", "pneumothorax": "absent"}
    )
    r = pipe.draft(DraftRequest(labels=labels))
    assert r.status == "drafted" and r.report is not None
    assert [s.text for s in r.report.findings] == [
        "Cardiomegaly is present.",
        "No pneumothorax or pleural effusion.",  # the fake model's combined negative
    ]
    assert [s.text for s in r.report.impression] == ["Cardiomegaly is seen."]
    assert all(s.origin == "llm" for s in r.report.findings + r.report.impression)
    assert all(v.verdict is Verdict.supported for v in r.verdicts)
    assert r.provenance.prompt_version == "draft_report/v2"


def test_an_impression_that_repeats_a_findings_sentence_is_replaced(retrieve) -> None:
    evidence = retrieve(LABELS)
    body, imp = draft_slots(LABELS, evidence)
    answer = answer_schema(slots_schema(body, imp))
    answer["impression"][0]["text"] = answer["findings"][0]["text"]
    _, out = parse_slots(json.dumps(answer), body, imp, slot_passages(body, LABELS, evidence))
    assert out[0].text == "Small left pleural effusion." and out[0].origin == "template"
    assert out[1].origin == "llm"


def test_a_findings_sentence_in_the_impressions_words_is_reworded_not_repeated(
    retrieve,
) -> None:
    # Seen on IU test with Qwen2.5-Coder-0.5B: a normal study's pleura slot answered with
    # the impression's "No acute cardiopulmonary abnormality.", which the impression then
    # said again word for word (33 of 100 drafts).
    labels = _ls(
        no_finding="present",
        cardiomegaly="absent",
        pneumothorax="absent",
        pleural_effusion="absent",
    )
    evidence = retrieve(labels)
    body, imp = draft_slots(labels, evidence)
    answer = answer_schema(slots_schema(body, imp))
    pleura = next(i for i, s in enumerate(body) if Finding.pneumothorax in s.findings)
    answer["findings"][pleura]["text"] = "No acute cardiopulmonary abnormality."
    answer["impression"] = [
        {**e, "text": "No acute cardiopulmonary abnormality."} for e in answer["impression"]
    ]
    out_body, out_imp = parse_slots(
        json.dumps(answer), body, imp, slot_passages(body, labels, evidence)
    )
    texts = [s.text for s in out_body + out_imp]
    assert len(texts) == len(set(texts)), texts
    assert out_body[pleura].text == "There is no pleural effusion or pneumothorax."
    assert out_body[pleura].origin == "template"
    assert [s.text for s in out_imp] == ["No acute cardiopulmonary abnormality."]
    # A sentence the model wrote twice in the findings is kept once.
    answer["findings"][0]["text"] = answer["findings"][pleura]["text"]
    again, _ = parse_slots(json.dumps(answer), body, imp, slot_passages(body, labels, evidence))
    assert len({s.text for s in again}) == len(again)


def test_a_quiet_study_gets_the_impression_its_labels_license(retrieve) -> None:
    partly = LabelSet.from_states(dict.fromkeys((f.value for f in style.ACUTE), "absent"))
    _, imp = draft_slots(partly, retrieve(partly))
    assert _about(imp) == [(["lung_opacity"], "absent")]
    assert suggested_wording(imp[0], impression=True) == "No acute airspace disease."
    normal = LabelSet.from_states({"no_finding": "present"})
    _, imp = draft_slots(normal, retrieve(normal))
    assert [suggested_wording(s, impression=True) for s in imp] == [style.NO_ACUTE]
