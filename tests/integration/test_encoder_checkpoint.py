"""The committed default encoder (an ensemble folder) on registry-borne chest X-rays and
synthetic non-chest images."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag.adapters.image_encoders import CalibratedImageEncoder, load_image_encoder
from rag.adapters.image_io import decode_image
from rag.adapters.registry_images import pneumonia_jpegs
from rag.api.app import create_app
from rag.config import DEFAULT_IMAGE_ENCODER
from rag.domain import Finding
from rag.encoder.ood_images import synthetic_non_chest
from rag.imaging_pipeline import encode_study
from rag.services import Services

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = Path(DEFAULT_IMAGE_ENCODER)
UNASSESSED = {Finding.fracture, Finding.support_devices, Finding.enlarged_cardiomediastinum}


@pytest.fixture(scope="module")
def encoder() -> CalibratedImageEncoder:
    return load_image_encoder(CHECKPOINT)


@pytest.fixture(scope="module")
def jpegs() -> list[Path]:
    return pneumonia_jpegs(REPO / ".radrag" / "assets")


def test_checkpoint_is_complete_and_small(encoder: CalibratedImageEncoder) -> None:
    names = {p.name for p in CHECKPOINT.iterdir()}
    files = {"encoder.json", "calibration.json", "ood.json", "guard_calibration.json"}
    assert files | {"split.json", "README.md"} <= names
    assert encoder.kind == "ensemble" and encoder.missing == ()
    assert [m.kind for m in encoder.members] == [  # type: ignore[attr-defined]
        "efficientnet-lite0",
        "efficientnet-lite0",
        "transformers",
    ]
    size = sum(p.stat().st_size for p in CHECKPOINT.rglob("*") if p.is_file())
    assert size < 32 * 2**20
    card = (CHECKPOINT / "README.md").read_text()
    assert "NOT FOR CLINICAL USE" in card and "radrag encoder ensemble" in card
    cal = json.loads((CHECKPOINT / "calibration.json").read_text())["findings"]
    for band in cal.values():
        assert 0 <= band["absent_below"] <= band["present_at"] <= 1 and band["scale"] > 0
    assert "imagenet" in json.loads((CHECKPOINT / "ood.json").read_text())


def test_label_map_assesses_what_nih_labels(encoder: CalibratedImageEncoder) -> None:
    assert set(encoder.findings) == set(Finding) - UNASSESSED
    for member in encoder.members:  # type: ignore[attr-defined]
        assert len(member.columns[Finding.lung_lesion]) == 2  # Mass and Nodule


def test_registry_jpegs_encode(encoder: CalibratedImageEncoder, jpegs: list[Path]) -> None:
    assert len(jpegs) == 16
    images = [decode_image(p.read_bytes()) for p in jpegs]
    scores = encoder.encode_many(images)
    for s in scores:
        assert all(0.0 <= p <= 1.0 for p in s.probabilities.values())
        assert s.ood_score is not None and s.ood_score >= 0
    enc = encode_study(encoder, images[:2])
    assert set(enc.not_assessed) == UNASSESSED


def test_encoding_is_deterministic(encoder: CalibratedImageEncoder, jpegs: list[Path]) -> None:
    im = decode_image(jpegs[0].read_bytes())
    a, b = encoder.encode(im), encoder.encode(im)
    assert a == b


def test_non_chest_images_score_further_than_chest_x_rays(
    encoder: CalibratedImageEncoder, jpegs: list[Path]
) -> None:
    chest = [
        s.ood_score for s in encoder.encode_many([decode_image(p.read_bytes()) for p in jpegs])
    ]
    other = [s.ood_score for s in encoder.encode_many(synthetic_non_chest())]
    assert np.median(other) > np.median(chest)  # type: ignore[arg-type]
    threshold = encoder.ood_threshold
    assert threshold is not None
    flagged = np.mean([o > threshold for o in other])  # type: ignore[operator]
    assert flagged >= 0.5


def test_api_with_the_real_encoder(
    tiny_services: Services, encoder: CalibratedImageEncoder, jpegs: list[Path]
) -> None:
    svc = dataclasses.replace(tiny_services, image_encoder=encoder)
    with TestClient(create_app(services=svc)) as client:
        r = client.post(
            "/v1/reports/images",
            files=[("images", ("cxr.jpeg", jpegs[0].read_bytes(), "image/jpeg"))],
            data={"indication": "Cough."},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["encoding"]["encoder"] == encoder.id
    assert len(body["encoding"]["findings"]) == 11
    if body["encoding"]["out_of_distribution"]:
        assert body["abstention"]["reasons"][0]["code"] == "image_out_of_distribution"
