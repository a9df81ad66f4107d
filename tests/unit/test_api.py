"""HTTP contract: good requests draft; bad ones get a 4xx naming the field."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
from fastapi.testclient import TestClient

from rag.api.app import create_app
from rag.api.schemas import ReportCreate
from rag.domain import Finding
from rag.kb.store import KBError
from rag.pipeline import ReportPipeline
from rag.services import KBHolder, Services

pytestmark = pytest.mark.unit


_EFF = "labels.pleural_effusion.attributes"


def _attrs(finding: str, state: str = "present", **attributes: object) -> dict:
    return {"labels": {finding: {"state": state, "attributes": attributes}}}


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["kb_version"]


def test_not_ready_without_a_knowledge_base(tiny_services: Services) -> None:
    empty_settings = tiny_services.settings.model_copy(
        update={"home": tiny_services.settings.home / "nothing"}
    )
    empty = KBHolder(empty_settings, "hash-embedder@64")
    with contextlib.suppress(KBError):
        empty.reload()
    p = tiny_services.pipeline
    pipeline = ReportPipeline(empty.get, p.embedder, p.generator, p.labeler, p.policy)
    svc = dataclasses.replace(tiny_services, kb=empty, pipeline=pipeline)
    with TestClient(create_app(services=svc)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and "no knowledge base" in r.json()["reason"]
        d = c.post("/v1/reports", json={"labels": {"cardiomegaly": "present"}})
        assert d.status_code == 503 and d.headers["retry-after"] == "30"


def test_draft_report(client: TestClient) -> None:
    r = client.post(
        "/v1/reports",
        json={
            "labels": {
                "cardiomegaly": {"state": "present", "probability": 0.91},
                "pleural_effusion": "absent",
            },
            "indication": "Dyspnea.",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "drafted"
    # Heart and mediastinum before the pleura, as IU X-ray's radiologists order them.
    first = body["report"]["findings"][0]
    assert body["report"]["findings"][1]["text"] == "No pleural effusion."
    assert first["text"] == "The heart is enlarged."
    assert first["findings"] == {"cardiomegaly": "present"}
    assert first["evidence"] and body["abstention"] is None
    assert body["report"]["impression"][0]["text"] == "Cardiomegaly."
    assert set(body["provenance"]) >= {"kb_version", "generator", "prompt_version"}


def test_abstention_has_reasons(client: TestClient) -> None:
    r = client.post("/v1/reports", json={"labels": {"fracture": "present"}})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "abstained" and body["report"] is None
    assert body["abstention"]["reasons"][0]["code"] == "finding_not_expressible"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"labels": {"cardiomegally": "present"}}, "labels.cardiomegally"),
        ({"labels": {"cardiomegaly": "maybe"}}, "labels.cardiomegaly"),
        (
            {"labels": {"cardiomegaly": {"state": "present", "probability": 1.2}}},
            "labels.cardiomegaly.probability",
        ),
        (
            {"labels": {"cardiomegaly": {"state": "present", "probability": -0.1}}},
            "labels.cardiomegaly.probability",
        ),
        ({"labels": {}}, "labels"),
        ({}, "labels"),
        ({"labels": {"edema": "absent"}, "colour": "red"}, "colour"),
        ({"labels": {"edema": "absent"}, "indication": "x" * 5000}, "indication"),
        (_attrs("pleural_effusion", laterality="up"), f"{_EFF}.laterality"),
        (_attrs("cardiomegaly", laterality="left"), "labels.cardiomegaly.attributes.laterality"),
        (_attrs("pleural_effusion", severity="mild"), f"{_EFF}.severity"),
        (_attrs("edema", "absent", severity="mild"), "labels.edema.attributes"),
        (
            {
                "labels": {
                    "support_devices": {
                        "state": "present",
                        "attributes": {"devices": [{"type": "picc", "position": "stomach"}]},
                    }
                }
            },
            "labels.support_devices.attributes.devices.0",
        ),
    ],
)
def test_bad_input_names_the_field(client: TestClient, payload: dict, field: str) -> None:
    r = client.post("/v1/reports", json=payload)
    assert r.status_code == 422, r.text
    fields = [d["field"] for d in r.json()["detail"]]
    assert field in fields
    assert field in r.json()["message"]


def test_attributes_reach_the_domain_request() -> None:
    body = ReportCreate.model_validate(
        {
            "labels": {
                "pleural_effusion": {
                    "state": "present",
                    "attributes": {"laterality": "left", "severity": "small"},
                },
                "support_devices": {
                    "state": "present",
                    "attributes": {"devices": [{"type": "picc", "position": "superior_vena_cava"}]},
                },
                "pneumothorax": "absent",
            }
        }
    )
    labels = body.to_domain().labels
    eff = labels.attributes_of(Finding.pleural_effusion)
    assert (eff.laterality, eff.severity) == ("left", "small")
    assert labels.attributes_of(Finding.support_devices).devices[0].type == "picc"
    assert labels.attributes_of(Finding.pneumothorax).is_empty()


def test_inconsistent_label_set_is_422(client: TestClient) -> None:
    r = client.post("/v1/reports", json={"labels": {"no_finding": "present", "edema": "present"}})
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "labels"
    assert "edema" in r.json()["detail"]["message"]


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"[1, 2]", b"null"])
def test_malformed_bodies_are_422(client: TestClient, body: bytes) -> None:
    r = client.post("/v1/reports", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "message" in r.json()


def test_oversized_body_is_413(client: TestClient) -> None:
    huge = json.dumps({"labels": {"edema": "absent"}, "indication": "x" * 200_000})
    r = client.post("/v1/reports", content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "limit" in r.json()["message"]


def test_errors_do_not_echo_patient_text(client: TestClient) -> None:
    marker = "PATIENT-MARKER-7731"
    r = client.post("/v1/reports", json={"labels": {"edema": "bogus"}, "indication": marker})
    assert r.status_code == 422 and marker not in r.text


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/reports" in spec["paths"]
