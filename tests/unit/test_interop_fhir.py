"""FHIR export: every resource validates; abstentions carry no findings; no rejected text."""

from __future__ import annotations

import base64
import json

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem

from rag.domain import (
    DraftRequest,
    Finding,
    LabelSet,
    Repair,
    ReportResult,
    SentenceVerdict,
    State,
    Verdict,
)
from rag.interop.claims import claims
from rag.interop.codes import FINDING_SYSTEM, STATE_SYSTEM, code_systems
from rag.interop.fhir import build_bundle, bundle_json
from rag.interop.meta import StudyMeta
from rag.services import Services

pytestmark = pytest.mark.unit

LABELS = {"cardiomegaly": "present", "pleural_effusion": "absent", "pneumothorax": "absent"}
UID = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"


def _draft(svc: Services, states: dict[str, str]) -> ReportResult:
    return svc.pipeline.draft(DraftRequest(labels=LabelSet.from_states(states)))


def _resources(bundle: Bundle, kind: str) -> list[dict]:
    data = json.loads(bundle.model_dump_json())
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def _revalidate(bundle: Bundle) -> None:
    """Parse the JSON again, the Bundle and each resource by its own model."""
    text = bundle.model_dump_json()
    Bundle.model_validate_json(text)
    for entry in json.loads(text)["entry"]:
        res = entry["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
        assert entry["fullUrl"].startswith("urn:uuid:")


def test_drafted_bundle_validates_and_mirrors_the_report(tiny_services: Services) -> None:
    result = _draft(tiny_services, LABELS)
    assert result.status == "drafted" and result.report is not None
    bundle = build_bundle(result, StudyMeta(study_instance_uid=UID, accession_number="ACC42"))
    _revalidate(bundle)
    assert bundle.type == "collection"
    [dr] = _resources(bundle, "DiagnosticReport")
    assert dr["status"] == "preliminary"
    assert dr["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "36643-5",
        "display": "XR Chest 2 Views",
    }
    assert dr["conclusion"] == " ".join(s.text for s in result.report.impression)
    text = base64.b64decode(dr["presentedForm"][0]["data"]).decode()
    assert text == result.report.text()
    assert dr["imagingStudy"][0]["identifier"]["value"] == f"urn:oid:{UID}"
    assert dr["identifier"][0]["value"] == "ACC42"

    observations = _resources(bundle, "Observation")
    expected = {c.finding.value: c.state.value for c in claims(result.report)}
    got = {
        o["code"]["coding"][0]["code"]: o["valueCodeableConcept"]["coding"][0]["code"]
        for o in observations
    }
    assert got == expected and set(got) >= {"cardiomegaly", "pleural_effusion"}
    assert got["cardiomegaly"] == "present" and got["pleural_effusion"] == "absent"
    assert {o["code"]["coding"][0]["system"] for o in observations} == {FINDING_SYSTEM}
    assert all(o["status"] == "preliminary" for o in observations)
    full_urls = [e.fullUrl for e in bundle.entry]
    assert [r["reference"] for r in dr["result"]] == [
        u
        for u, e in zip(full_urls, bundle.entry, strict=True)
        if e.resource.get_resource_type() == "Observation"
    ]

    [prov] = _resources(bundle, "Provenance")
    [device] = _resources(bundle, "Device")
    assert prov["target"][0]["reference"] == full_urls[0]
    versions = {v["type"]["text"]: v["value"] for v in device["version"]}
    p = result.provenance
    assert versions["knowledge-base"] == p.kb_version
    assert versions["text-embedder"] == p.embedder and versions["generator"] == p.generator


def test_signed_is_final_and_view_count_picks_the_code(tiny_services: Services) -> None:
    result = _draft(tiny_services, LABELS)
    bundle = build_bundle(result, StudyMeta(signed=True, view_count=1))
    [dr] = _resources(bundle, "DiagnosticReport")
    assert dr["status"] == "final" and dr["code"]["coding"][0]["code"] == "36554-4"
    assert "imagingStudy" not in dr
    assert {o["status"] for o in _resources(bundle, "Observation")} == {"final"}


def test_same_input_same_bundle(tiny_services: Services) -> None:
    result = _draft(tiny_services, LABELS)
    meta = StudyMeta(study_instance_uid=UID)
    assert bundle_json(result, meta) == bundle_json(result, meta)


def test_abstention_has_no_report_and_no_findings(tiny_services: Services) -> None:
    result = _draft(tiny_services, {"fracture": "present"})
    assert result.status == "abstained"
    bundle = build_bundle(result, StudyMeta(study_instance_uid=UID))
    _revalidate(bundle)
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert "DiagnosticReport" not in kinds and "Observation" not in kinds
    [outcome] = _resources(bundle, "OperationOutcome")
    assert result.abstention is not None
    codes = [i["details"]["coding"][0]["code"] for i in outcome["issue"]]
    assert codes == [r.code for r in result.abstention.reasons]
    [prov] = _resources(bundle, "Provenance")
    assert prov["target"][0]["reference"] == bundle.entry[0].fullUrl


def test_rejected_text_never_reaches_the_bundle(tiny_services: Services) -> None:
    result = _draft(tiny_services, LABELS)
    bad = "The left lung shows a 3 cm mass REJECTED."
    tainted = result.model_copy(
        update={
            "verdicts": (
                *result.verdicts,
                SentenceVerdict(
                    text=bad,
                    verdict=Verdict.contradicted,
                    reasons=("state_mismatch:lung_lesion:says_present:labels_absent",),
                    asserted={Finding.lung_lesion: State.present},
                ),
            ),
            "repairs": (Repair(original=bad, action="dropped"),),
        }
    )
    text = bundle_json(tainted, StudyMeta())
    assert "REJECTED" not in text and "lung_lesion" not in text
    assert (
        "REJECTED"
        not in base64.b64decode(
            _resources(build_bundle(tainted), "DiagnosticReport")[0]["presentedForm"][0]["data"]
        ).decode()
    )


def test_local_code_systems_validate_and_cover_every_code() -> None:
    systems = {cs["url"]: cs for cs in code_systems()}
    for cs in systems.values():
        CodeSystem.model_validate(cs)
    assert {c["code"] for c in systems[FINDING_SYSTEM]["concept"]} == {f.value for f in Finding}
    assert {c["code"] for c in systems[STATE_SYSTEM]["concept"]} == {s.value for s in State}


def test_llm_format_errors_are_not_quoted_in_the_outcome(tiny_services: Services) -> None:
    from rag.domain import Abstention, AbstentionReason

    result = _draft(tiny_services, {"fracture": "present"})
    leaked = AbstentionReason(
        code="generator_invalid_output",
        message="LLM output rejected: findings[0]: evidence ids not offered: ['LEAKED text']",
    )
    tainted = result.model_copy(update={"abstention": Abstention(reasons=(leaked,))})
    text = bundle_json(tainted)
    assert "LEAKED" not in text and "generator_invalid_output" in text
