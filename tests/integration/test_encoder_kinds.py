"""One contract for every image encoder kind: load -> calibrate -> evaluate -> serve.

Each kind is built with random weights and saved the way its users save it, so the
loading code that runs is the real one. A blank (unlabelled) cell stays unlabelled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.adapters.image_encoders import load_image_encoder
from rag.adapters.labelled_images import SPLIT_FILE, open_folder
from rag.domain import DecodedImage, Finding
from rag.encoder.evaluate import calibrate, evaluate
from rag.encoder.ood_images import synthetic_non_chest
from rag.imaging_pipeline import draft_from_images
from rag.services import Services
from tests.encoder_kinds import BUILDERS, site_folder
from tests.image_fakes import CERTIFIED_OPEN

pytestmark = pytest.mark.integration

KINDS = sorted(BUILDERS)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_folder(tmp_path_factory.mktemp("site") / "labelled")


@pytest.fixture(scope="module", params=KINDS)
def calibrated(request: pytest.FixtureRequest, tmp_path_factory, site: Path):
    """(kind, folder, evaluation) after building, loading and calibrating one kind."""
    kind = request.param
    folder = tmp_path_factory.mktemp(kind)
    BUILDERS[kind](folder)
    enc = load_image_encoder(folder, "transformers" if kind == "transformers" else "auto")
    assert enc.kind == kind
    assert [name for name, _ in enc.missing] == [
        "calibration.json",
        "ood.json",
        "guard_calibration.json",
    ]
    calibrate(enc, site)
    result = evaluate(
        load_image_encoder(folder), site, {"synthetic_non_chest": synthetic_non_chest(1, 48)}
    )
    return kind, folder, result


def test_calibration_writes_its_files_and_the_split(calibrated, site: Path) -> None:
    _, folder, _ = calibrated
    cal = json.loads((folder / "calibration.json").read_text())
    # Only what the site labels is calibrated; cardiomegaly is labelled on some rows only.
    assert set(cal["findings"]) <= {"pleural_effusion", "cardiomegaly"}
    assert cal["findings"]["pleural_effusion"]["calibrate_labelled"] == 4
    split = json.loads((folder / SPLIT_FILE).read_text())
    assert split["dataset_kind"] == "csv" and set(split["buckets"]) == {
        "calibrate",
        "certify",
        "test",
    }
    assert split["data_sha256"] == open_folder(site).digest()
    enc = load_image_encoder(folder)
    assert [name for name, _ in enc.missing] == ["guard_calibration.json"]
    assert enc.ood_threshold is not None and enc.ood_threshold > 0


def test_evaluation_scores_the_test_patients(calibrated) -> None:
    kind, _, result = calibrated
    assert result["kind"] == kind and result["test_images"] == 4
    assert 0.0 <= result["auroc"]["pleural_effusion"] <= 1.0
    lo, hi = result["auroc_macro_ci95"]
    assert 0.0 <= lo <= hi <= 1.0
    assert 0.0 <= result["ece"] <= 1.0
    assert result["ood_images"] == {"synthetic_non_chest": 6}
    assert 0.0 <= result["ood_auroc"] <= 1.0


def test_serving_drafts_only_once_certified(calibrated, tiny_services: Services) -> None:
    _, folder, _ = calibrated
    pixels = (np.random.default_rng(5).random((40, 40)) * 255).astype(np.uint8)
    study = [DecodedImage(pixels=pixels, source="png")]
    tiny_services.image_encoder = load_image_encoder(folder)
    result, encoding = draft_from_images(tiny_services, study)
    assert result.status == "abstained"
    assert [r.code for r in result.abstention.reasons] == ["encoder_not_ready"]
    assert "guard_calibration.json" in result.abstention.reasons[0].message
    (folder / "guard_calibration.json").write_text(json.dumps(CERTIFIED_OPEN))
    try:
        tiny_services.image_encoder = load_image_encoder(folder)
        # The OOD threshold must not hide the drafting path: lift it for this one call.
        tiny_services.image_encoder.ood_threshold = float("inf")
        result, encoding = draft_from_images(tiny_services, study)
    finally:
        (folder / "guard_calibration.json").unlink()
    codes = [r.code for r in result.abstention.reasons] if result.abstention else []
    assert not {"encoder_not_ready", "encoder_not_certified", "image_out_of_distribution"} & set(
        codes
    )
    assert Finding.pleural_effusion in encoding.findings


@pytest.mark.parametrize("kind", ["chexnet", "torchxrayvision"])
def test_probability_outputs_get_exactly_one_sigmoid(kind: str, tmp_path: Path) -> None:
    """At temperature 1 the calibrated probability is the model's own output."""
    import torch

    BUILDERS[kind](tmp_path)
    enc = load_image_encoder(tmp_path)
    assert enc.probabilities_out
    image = DecodedImage(pixels=np.full((32, 32), 90, np.uint8), source="png")
    logits, _ = enc.raw([image])
    x = torch.from_numpy(enc._batch([image]))
    with torch.inference_mode():
        own = enc._head(enc.model(x)).numpy()[0]
    j = enc.findings.index(Finding.pneumothorax)
    col = enc.columns[Finding.pneumothorax][0]
    assert enc.calibrated(logits)[0, j] == pytest.approx(float(own[col]), abs=1e-4)


# The transformers kind's CLI path is test_encoder_training's.
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["chexnet", "torchxrayvision", "efficientnet-lite0", "ensemble"])
def test_cli_calibrates_and_evaluates_each_kind(
    kind: str, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import rag.cli.encoder as encoder_cli
    from rag.cli import app

    # The registry JPEGs are not needed to show the command works for the kind.
    monkeypatch.setattr(
        encoder_cli, "_ood_set", lambda *_: {"synthetic_non_chest": synthetic_non_chest(1, 32)}
    )
    BUILDERS[kind](tmp_path)
    runner = CliRunner()
    args = ["--data", str(site), "--checkpoint", str(tmp_path)]
    r = runner.invoke(app, ["encoder", "calibrate", *args])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["encoder", "evaluate", *args, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["kind"] == kind
    r = runner.invoke(app, ["encoder", "evaluate", "--data", str(site), "--checkpoint", "/nope"])
    assert r.exit_code == 2 and "--checkpoint" in r.output


def test_ensemble_averages_standardised_member_logits(tmp_path: Path) -> None:
    """The ensemble's raw logit is the mean of (member logit - mean) / std."""
    from tests.encoder_kinds import build_ensemble

    build_ensemble(tmp_path)
    enc = load_image_encoder(tmp_path)
    image = DecodedImage(pixels=np.full((40, 40), 120, np.uint8), source="png")
    resnet, lite = enc.members
    j = enc.findings.index(Finding.pleural_effusion)
    a = resnet.raw([image])[0][0, resnet.findings.index(Finding.pleural_effusion)]
    b = lite.raw([image])[0][0, lite.findings.index(Finding.pleural_effusion)]
    assert enc.raw([image])[0][0, j] == pytest.approx((a + (b - 0.5) / 2.0) / 2, abs=1e-4)
    feats = enc.raw([image])[1]
    assert feats.shape[1] == resnet.raw([image])[1].shape[1] + lite.raw([image])[1].shape[1]


@pytest.mark.slow
def test_cli_builds_an_ensemble_from_member_folders(site: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rag.cli import app
    from tests.encoder_kinds import build_efficientnet_lite, build_transformers

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    build_transformers(tmp_path / "a")
    build_efficientnet_lite(tmp_path / "b")
    (tmp_path / "a" / "ood.json").write_text("{}")  # a member's own files are not copied
    out = tmp_path / "ens"
    members = ["--member", str(tmp_path / "a"), "--member", str(tmp_path / "b")]
    r = CliRunner().invoke(
        app, ["encoder", "ensemble", "--data", str(site), "--out", str(out), *members]
    )
    assert r.exit_code == 0, r.output
    conf = json.loads((out / "encoder.json").read_text())
    assert [m["folder"] for m in conf["members"]] == ["a", "b"]
    assert conf["standardised_on"].endswith(":calibrate")  # films no member trained on
    assert all(v > 0 for m in conf["members"] for v in m["std"].values())
    assert not (out / "a" / "ood.json").exists()
    enc = load_image_encoder(out)
    assert enc.kind == "ensemble" and [m.kind for m in enc.members] == [
        "transformers",
        "efficientnet-lite0",
    ]
    r = CliRunner().invoke(
        app,
        [
            "encoder",
            "ensemble",
            "--data",
            str(site),
            "--out",
            str(out),
            "--member",
            str(tmp_path / "a"),
        ],
    )
    assert r.exit_code == 2 and "--member" in r.output


@pytest.mark.parametrize("kind", ["chexnet", "torchxrayvision", "efficientnet-lite0", "ensemble"])
def test_a_missing_folder_is_named_as_missing(kind: str, tmp_path: Path) -> None:
    from rag.adapters.image_encoders.base import EncoderLoadError

    with pytest.raises(EncoderLoadError, match="does not exist"):
        load_image_encoder(tmp_path / "nowhere", kind)
