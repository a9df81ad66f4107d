"""The draft lifecycle over the API: stored drafts, reviewer edits, signing, corrections."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from rag.api.app import create_app
from rag.domain import (
    Finding,
    LabelSet,
    Provenance,
    ReportResult,
    SentenceVerdict,
    Verdict,
)
from rag.review.content import content_of
from rag.services import Services
from rag.store.tables import DraftRow, FeedbackRow, SignedReportRow
from tests.image_fakes import FakeImageEncoder

pytestmark = pytest.mark.unit
BODY = {
    "labels": {"cardiomegaly": "present", "pleural_effusion": "absent"},
    "study_instance_uid": "1.2.840.113619.2.1",
    "accession_number": "ACC-001",
    "sex": "F",
    "age_band": "60-79",
}
UNCERTIFIED = {"certified": False, "alpha": 0.1, "risk_without_threshold": 0.31}


@pytest.fixture
def client(tiny_services: Services):
    encoder = FakeImageEncoder(
        {Finding.cardiomegaly: 0.9, Finding.pleural_effusion: 0.05, Finding.edema: 0.1}
    )
    encoder.guard_calibration = UNCERTIFIED  # type: ignore[attr-defined]
    svc = dataclasses.replace(tiny_services, image_encoder=encoder)
    with TestClient(create_app(services=svc)) as c:
        c.svc = svc  # type: ignore[attr-defined]
        yield c


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32), 60, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_every_draft_is_stored_with_its_study(client: TestClient) -> None:
    r = client.post("/v1/reports", json=BODY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["draft_status"] == "drafted" and len(body["draft_id"]) == 32
    d = client.get(f"/v1/drafts/{body['draft_id']}").json()
    assert d["study"]["accession_number"] == "ACC-001" and d["study"]["age_band"] == "60-79"
    assert d["report_text"] == body["report"]["text"]
    sentences = d["content"]["sentences"]
    assert sentences and all(s["verdict"] == "supported" for s in sentences)
    cited = {pid for s in sentences for pid in s["evidence"]}
    assert cited and cited <= set(d["content"]["passages"])
    listed = client.get("/v1/drafts").json()
    assert [x["draft_id"] for x in listed] == [body["draft_id"]]


@pytest.mark.parametrize(
    ("field", "value"),
    [("study_instance_uid", "1.2.x"), ("accession_number", "A B"), ("age_band", "61")],
)
def test_bad_study_metadata_names_the_field(client: TestClient, field: str, value: str) -> None:
    r = client.post("/v1/reports", json={**BODY, field: value})
    assert r.status_code == 422 and field in json.dumps(r.json())


def test_review_edit_sign_and_correct(client: TestClient) -> None:
    draft_id = client.post("/v1/reports", json=BODY).json()["draft_id"]
    # A label edit re-drafts and re-verifies.
    r = client.patch(
        f"/v1/drafts/{draft_id}",
        json={"labels": {"cardiomegaly": "absent", "pleural_effusion": "present"}},
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["revision"] == 2 and d["content"]["labels"]["pleural_effusion"]["state"] == "present"
    assert "effusion" in d["report_text"].lower()
    # A reviewer sentence that contradicts the labels is kept but flagged.
    r = client.patch(
        f"/v1/drafts/{draft_id}",
        json={
            "revision": 2,
            "text_edits": [
                {"section": "findings", "index": None, "text": "The heart is enlarged."}
            ],
        },
    )
    added = [s for s in r.json()["content"]["sentences"] if s["origin"] == "reviewer"]
    assert added[0]["flagged"] and added[0]["verdict"] == "contradicted"
    # A stale revision is refused.
    stale = {"revision": 2, "text_edits": [{"section": "findings", "index": 0, "text": None}]}
    assert client.patch(f"/v1/drafts/{draft_id}", json=stale).status_code == 409
    # Signing with a flagged sentence needs an explicit acknowledgement.
    r = client.post(f"/v1/drafts/{draft_id}/sign")
    assert r.status_code == 409 and "flagged" in r.json()["detail"]["message"]
    now = client.get(f"/v1/drafts/{draft_id}").json()["content"]["sentences"]
    at = [s["flagged"] for s in now if s["section"] == "findings"].index(True)
    remove = {
        "text_edits": [
            {"section": "findings", "index": at, "text": None, "reason": "wrong_finding"}
        ]
    }
    assert client.patch(f"/v1/drafts/{draft_id}", json=remove).status_code == 200
    r = client.post(f"/v1/drafts/{draft_id}/sign")
    assert r.status_code == 200, r.text
    signed = r.json()
    assert signed["status"] == "signed" and len(signed["signed"]["sha256"]) == 64
    # Signed means immutable.
    edit = {"text_edits": [{"section": "findings", "index": 0, "text": "No effusion."}]}
    assert client.patch(f"/v1/drafts/{draft_id}", json=edit).status_code == 409
    assert client.post(f"/v1/drafts/{draft_id}/sign").status_code == 409
    # A correction is a new version awaiting review.
    r = client.post(f"/v1/drafts/{draft_id}/corrections")
    assert r.status_code == 201
    fix = r.json()
    assert fix["parent_id"] == draft_id and fix["version"] == 2
    assert fix["status"] == "awaiting_review"
    db = client.svc.db  # type: ignore[attr-defined]
    with db.read() as s:
        assert s.query(SignedReportRow).count() == 1
        assert [f.reason for f in s.query(FeedbackRow)] == ["wrong_finding"]


def test_uncertified_image_study_waits_for_review(client: TestClient) -> None:
    files = [("images", ("a.png", _png(), "image/png"))]
    r = client.post("/v1/reports/images", files=files, data={"sex": "M"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "abstained" and body["draft_status"] == "awaiting_review"
    d = client.get(f"/v1/drafts/{body['draft_id']}").json()
    assert d["content"]["proposed"]["cardiomegaly"] == {"probability": 0.9, "state": "present"}
    png = client.get(d["image_urls"][0])
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    # The radiologist confirms the proposal and gets a verified draft.
    labels = {f: v["state"] for f, v in d["content"]["proposed"].items()}
    r = client.patch(f"/v1/drafts/{body['draft_id']}", json={"labels": labels})
    assert r.status_code == 200 and r.json()["status"] == "drafted"
    assert r.json()["content"]["proposed"] == d["content"]["proposed"]


def test_drafts_need_the_reviewer_scope(tiny_services: Services) -> None:
    svc = dataclasses.replace(
        tiny_services, settings=tiny_services.settings.model_copy(update={"auth": "keys"})
    )
    drafter = svc.keys.create("drafter", ["draft"])
    reviewer = svc.keys.create("rad", ["reviewer"])
    with TestClient(create_app(services=svc)) as c:
        draft_id = c.post("/v1/reports", json=BODY, headers={"X-API-Key": drafter}).json()[
            "draft_id"
        ]
        assert c.get(f"/v1/drafts/{draft_id}", headers={"X-API-Key": drafter}).status_code == 403
        r = c.get(f"/v1/drafts/{draft_id}", headers={"X-API-Key": reviewer})
        assert r.status_code == 200
        assert c.get("/v1/drafts/nope", headers={"X-API-Key": reviewer}).status_code == 404


def test_rejected_sentences_are_stored_only_as_hashes(tiny_services: Services) -> None:
    secret = "Large right pneumothorax with mediastinal shift."
    result = ReportResult(
        status="abstained",
        verdicts=(
            SentenceVerdict(text=secret, verdict=Verdict.contradicted, reasons=("contradicts",)),
        ),
        provenance=Provenance(kb_version="v", embedder="e", generator="g", radrag_version="0"),
    )
    labels = LabelSet.from_states({"pneumothorax": "absent"})
    content = content_of(result, labels, None)
    assert secret not in content.model_dump_json()
    assert content.rejected[0].verdict == "contradicted"
    with tiny_services.db.read() as s:  # type: ignore[union-attr]
        assert s.query(DraftRow).count() == 0


def test_stored_drafts_export_as_fhir_and_dicom_sr(client: TestClient) -> None:
    import pydicom
    from fhir.resources.R4B.bundle import Bundle

    draft_id = client.post("/v1/reports", json=BODY).json()["draft_id"]
    r = client.get(f"/v1/drafts/{draft_id}/fhir")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(r.json())
    reports = [
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "DiagnosticReport"
    ]
    assert len(reports) == 1 and reports[0].status == "preliminary"
    sr = client.get(f"/v1/drafts/{draft_id}/dicom-sr")
    ds = pydicom.dcmread(io.BytesIO(sr.content))
    assert ds.StudyInstanceUID == BODY["study_instance_uid"]
    assert ds.VerificationFlag == "UNVERIFIED"
    assert client.post(f"/v1/drafts/{draft_id}/sign").status_code == 200
    final = Bundle.model_validate(client.get(f"/v1/drafts/{draft_id}/fhir").json())
    status = {
        e.resource.status
        for e in final.entry
        if e.resource.get_resource_type() == "DiagnosticReport"
    }
    assert status == {"final"}
    ds = pydicom.dcmread(io.BytesIO(client.get(f"/v1/drafts/{draft_id}/dicom-sr").content))
    assert ds.VerificationFlag == "VERIFIED"
    assert client.get("/v1/drafts/nope/fhir").status_code == 404
    assert client.get(f"/v1/drafts/{draft_id}/pdf").status_code == 422
