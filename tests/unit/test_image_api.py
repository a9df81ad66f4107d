"""POST /v1/reports/images: multipart in, a report or an abstention out, 4xx for bad files."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from rag.api.app import create_app
from rag.domain import Finding
from rag.services import Services
from tests.dicom_factory import gradient, make_dicom
from tests.image_fakes import FakeImageEncoder

pytestmark = pytest.mark.unit

PROBS = {
    Finding.cardiomegaly: 0.9,
    Finding.pleural_effusion: 0.05,
    Finding.pneumothorax: 0.05,
    Finding.edema: 0.4,
    Finding.no_finding: 0.05,
}


def _png(value: int = 60, size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((size, size), value, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def encoder() -> FakeImageEncoder:
    return FakeImageEncoder(PROBS)


@pytest.fixture
def client(tiny_services: Services, encoder: FakeImageEncoder):
    cfg = tiny_services.settings.model_copy(update={"max_image_bytes": 200_000, "max_images": 2})
    svc = dataclasses.replace(tiny_services, settings=cfg, image_encoder=encoder)
    with TestClient(create_app(services=svc)) as c:
        yield c


def _post(client: TestClient, *files: tuple[str, bytes], **form: str):
    parts = [("images", (name, data, "application/octet-stream")) for name, data in files]
    return client.post("/v1/reports/images", files=parts, data=form)


def test_png_drafts_with_calibrated_labels(client: TestClient) -> None:
    r = _post(client, ("a.png", _png()), indication="Shortness of breath.")
    assert r.status_code == 200, r.text
    body = r.json()
    enc = body["encoding"]
    assert enc["findings"]["cardiomegaly"] == {"probability": 0.9, "state": "present"}
    assert enc["findings"]["edema"]["state"] == "uncertain"
    assert "fracture" in enc["not_assessed"] and enc["out_of_distribution"] is False
    assert body["status"] in ("drafted", "abstained")
    if body["status"] == "drafted":
        assert (
            "enlarged" in body["report"]["text"].lower()
            or "cardiomegaly" in body["report"]["text"].lower()
        )


def test_dicom_upload_reports_its_view(client: TestClient) -> None:
    r = _post(client, ("x.dcm", make_dicom(gradient(), view="AP")))
    assert r.status_code == 200, r.text
    assert r.json()["encoding"]["view_positions"] == ["AP"]


def test_out_of_distribution_image_abstains(client: TestClient) -> None:
    r = _post(client, ("bright.png", _png(value=250)))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "abstained" and body["report"] is None
    codes = [x["code"] for x in body["abstention"]["reasons"]]
    assert codes == ["image_out_of_distribution"]


def test_lateral_dicom_abstains(client: TestClient) -> None:
    r = _post(client, ("lat.dcm", make_dicom(gradient(), view="LL")))
    assert r.json()["abstention"]["reasons"][0]["code"] == "image_out_of_distribution"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"not an image at all" * 20, 415),
        (make_dicom(gradient(), modality="CT"), 422),
        (make_dicom(gradient(), frames=2), 422),
    ],
)
def test_bad_second_file_is_named(client: TestClient, data: bytes, status: int) -> None:
    r = _post(client, ("ok.png", _png()), ("bad.png", data))
    assert r.status_code == status, r.text
    assert r.json()["detail"]["field"] == "images[1]"


def test_oversized_file_is_413(client: TestClient) -> None:
    big = np.random.default_rng(0).integers(0, 255, (500, 500), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="PNG")
    r = _post(client, ("big.png", buf.getvalue()))
    assert r.status_code == 413 and r.json()["detail"]["field"] == "images[0]"


def test_too_many_images_and_missing_images(client: TestClient) -> None:
    r = _post(client, *[("a.png", _png())] * 3)
    assert r.status_code == 422 and r.json()["detail"]["field"] == "images"
    r = client.post("/v1/reports/images", data={"indication": "x"})
    assert r.status_code == 422


def test_json_route_keeps_its_small_limit(client: TestClient) -> None:
    r = client.post(
        "/v1/reports",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
