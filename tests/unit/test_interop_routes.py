"""`?format=fhir|dicom-sr` on the drafting routes and `radrag draft --format`."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom import dcmread
from pydicom.uid import generate_uid
from typer.testing import CliRunner

from rag.api.app import create_app
from rag.cli import app as cli
from rag.domain import Finding
from rag.services import Services
from tests.dicom_factory import gradient, make_dicom
from tests.image_fakes import FakeImageEncoder

pytestmark = pytest.mark.unit

BODY = {"labels": {"cardiomegaly": "present", "pleural_effusion": "absent"}}
UID = "1.2.826.0.1.3680043.8.498.1"


def _kinds(bundle: dict) -> list[str]:
    return [e["resource"]["resourceType"] for e in bundle["entry"]]


def test_fhir_format_returns_a_bundle(client: TestClient) -> None:
    r = client.post(f"/v1/reports?format=fhir&study_instance_uid={UID}", json=BODY)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and _kinds(bundle)[0] == "DiagnosticReport"
    dr = bundle["entry"][0]["resource"]
    assert dr["imagingStudy"][0]["identifier"]["value"] == f"urn:oid:{UID}"


def test_fhir_format_of_an_abstention(client: TestClient) -> None:
    r = client.post("/v1/reports?format=fhir", json={"labels": {"fracture": "present"}})
    assert r.status_code == 200
    kinds = _kinds(r.json())
    assert "OperationOutcome" in kinds and "DiagnosticReport" not in kinds


def test_dicom_sr_format(client: TestClient) -> None:
    r = client.post(
        f"/v1/reports?format=dicom-sr&accession_number=A1&study_instance_uid={UID}", json=BODY
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/dicom"
    ds = dcmread(io.BytesIO(r.content))
    assert ds.StudyInstanceUID == UID and ds.AccessionNumber == "A1"
    abstained = client.post("/v1/reports?format=dicom-sr", json={"labels": {"fracture": "present"}})
    assert abstained.status_code == 422 and abstained.json()["detail"]["field"] == "format"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("format=pdf", "format"),
        ("format=fhir&study_instance_uid=1.2.x", "study_instance_uid"),
        ("format=dicom-sr&accession_number=A%5CB", "accession_number"),  # a DICOM separator
        ("format=dicom-sr&accession_number=%C3%A9", "accession_number"),
    ],
)
def test_bad_export_query_is_a_4xx_naming_it(client: TestClient, query: str, field: str) -> None:
    r = client.post(f"/v1/reports?{query}", json=BODY)
    assert r.status_code == 422 and field in r.text


def test_image_route_exports_the_source_study(tiny_services: Services) -> None:
    enc = FakeImageEncoder({Finding.cardiomegaly: 0.9, Finding.pleural_effusion: 0.05})
    svc = dataclasses.replace(tiny_services, image_encoder=enc)
    study = generate_uid()
    dcm = make_dicom(
        gradient(),
        tags={
            "StudyInstanceUID": study,
            "SeriesInstanceUID": generate_uid(),
            "AccessionNumber": "X9",
        },
    )
    files = [("images", ("a.dcm", dcm, "application/dicom"))]
    with TestClient(create_app(services=svc)) as c:
        r = c.post("/v1/reports/images?format=dicom-sr", files=files)
        assert r.status_code == 200, r.text
        ds = dcmread(io.BytesIO(r.content))
        assert ds.StudyInstanceUID == study and ds.AccessionNumber == "X9"
        ref = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
        assert ref.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        f = c.post("/v1/reports/images?format=fhir", files=files).json()
        dr = f["entry"][0]["resource"]
        assert dr["imagingStudy"][0]["identifier"]["value"] == f"urn:oid:{study}"
        assert dr["code"]["coding"][0]["code"] == "36554-4"  # one image: single view


@pytest.fixture
def tiny_cli(monkeypatch: pytest.MonkeyPatch, tiny_services: Services) -> None:
    monkeypatch.setattr("rag.services.build_services", lambda *_a, **_k: tiny_services)


def test_cli_fhir_and_dicom_sr(tiny_cli: None, tmp_path: Path) -> None:
    labels = json.dumps(BODY["labels"])
    r = CliRunner().invoke(
        cli, ["draft", "--labels", labels, "--format", "fhir", "--study-uid", UID]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["entry"][0]["resource"]["resourceType"] == "DiagnosticReport"
    out = tmp_path / "sr.dcm"
    r = CliRunner().invoke(
        cli, ["draft", "--labels", labels, "--format", "dicom-sr", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert dcmread(out).Modality == "SR"
    r = CliRunner().invoke(
        cli,
        [
            "draft",
            "--labels",
            '{"fracture": "present"}',
            "--format",
            "dicom-sr",
            "--out",
            str(tmp_path / "no.dcm"),
        ],
    )
    assert r.exit_code == 3 and not (tmp_path / "no.dcm").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "pdf"], "--format: expected one of"),
        (["--format", "dicom-sr"], "--format dicom-sr needs --out"),
        (["--format", "fhir", "--study-uid", "abc"], "--study-uid:"),
    ],
)
def test_cli_bad_export_options(tiny_cli: None, args: list[str], message: str) -> None:
    r = CliRunner().invoke(cli, ["draft", "--labels", '{"edema": "absent"}', *args])
    assert r.exit_code == 2 and message in r.output
