"""Encoder-labelled evaluation cases: the service's image gate, NIH scoring, CLI errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rag.adapters.nih_images import patient_split
from rag.cli import app
from rag.domain import DecodedImage, Finding
from rag.evaluation.drafters import GuardedDrafter, Outcome
from rag.evaluation.image_cases import ImagePathDrafter, nih_cases
from rag.evaluation.runner import score_case
from rag.imaging_pipeline import draft_from_images
from rag.labeler import RuleLabeler
from rag.services import Services
from tests.image_fakes import CERTIFIED_OPEN, FakeImageEncoder

pytestmark = pytest.mark.unit

UNCERTIFIED = {"alpha": 0.05, "risk_without_threshold": 0.6, "certified": False, "threshold": None}
PROBS = {Finding.cardiomegaly: 0.9, Finding.pleural_effusion: 0.05}
# (brightness, NIH labels, age, sex, view): the bright image is out of distribution.
IMAGES = [
    (40, "Cardiomegaly", 35, "F", "PA"),
    (250, "No Finding", 61, "M", "AP"),
    (60, "Effusion|Emphysema", 50, "M", "PA"),
]


HEADER = [
    "path",
    "split",
    "binary_label",
    "image_index",
    "Finding Labels",
    "Patient ID",
    "Patient Age",
    "Patient Gender",
    "View Position",
]


def _test_patients(n: int) -> list[str]:
    ids = (str(i) for i in range(10_000))
    return [p for p in ids if patient_split(p) == "test"][:n]


@pytest.fixture
def nih_dir(tmp_path: Path) -> Path:
    """A three-image NIH-style folder whose patients all fall in the project test split."""
    root = tmp_path / "nih"
    (root / "test").mkdir(parents=True)
    with (root / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for (level, labels, age, sex, view), pid in zip(
            IMAGES, _test_patients(len(IMAGES)), strict=True
        ):
            name = f"{int(pid):08d}_000.png"
            Image.fromarray(np.full((16, 16), level, np.uint8)).save(root / "test" / name)
            w.writerow([f"test/{name}", "test", "x", name, labels, pid, age, sex, view])
    return root


@pytest.mark.parametrize("lifted", [False, True])
def test_gate_matches_the_service(tiny_services: Services, nih_dir: Path, lifted: bool) -> None:
    encoder = FakeImageEncoder(PROBS)
    encoder.guard_calibration = UNCERTIFIED  # type: ignore[attr-defined]
    tiny_services.image_encoder = encoder
    cases = nih_cases(nih_dir, "test", encoder)
    assert [c.meta["age_band"] for c in cases] == ["<40", "60+", "40-59"]
    drafter = ImagePathDrafter(
        GuardedDrafter(tiny_services.pipeline, "extractive"), UNCERTIFIED, lift=lifted
    )
    if lifted:  # what the service does once certified with no threshold to clear
        encoder.guard_calibration = dict(CERTIFIED_OPEN)
    for case in cases:
        got = drafter.draft(case)
        image = DecodedImage(
            pixels=np.asarray(Image.open(nih_dir / case.meta["image"])), source="png"
        )
        want, _ = draft_from_images(tiny_services, [image])
        reasons = [r.code for r in want.abstention.reasons] if want.abstention else []
        assert (got.status, got.abstention) == (want.status, reasons), case.id
    codes = [drafter.draft(c).abstention for c in cases]
    assert codes[1] == ["image_out_of_distribution"]  # before, and regardless of, the guard
    assert codes[0] == ([] if lifted else ["risk_not_certified"])


def test_nih_scoring_ignores_findings_nih_does_not_label(
    tiny_services: Services, nih_dir: Path
) -> None:
    case = nih_cases(nih_dir, "test", FakeImageEncoder(PROBS))[2]  # Effusion|Emphysema
    text = "The heart is enlarged. Acute rib fracture. No pleural effusion."
    rec = score_case(case, Outcome("drafted", [text], [], 1.0), RuleLabeler())
    assert rec["reference"] is None
    assert rec["reference_labels"]["pleural_effusion"] == "present"
    assert "fracture" not in rec["reference_labels"]
    assert rec["unscored_draft_labels"] == {"fracture": "present"}
    assert rec["metrics"]["hallucinated"] == ["cardiomegaly"]  # NIH: no cardiomegaly
    assert set(rec["metrics"]["contradictions"]) == {"cardiomegaly", "pleural_effusion"}
    assert rec["metrics"]["hard_contradictions"] == rec["metrics"]["contradictions"]
    assert rec["inputs"]["probabilities"] == {"cardiomegaly": 0.9, "pleural_effusion": 0.05}
    assert rec["meta"]["sex"] == "M" and rec["meta"]["view_position"] == "PA"


def _eval(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["eval", "run", *args])
    return r.exit_code, r.output


def test_cli_refuses_cleanly_without_the_nih_images(tmp_path: Path) -> None:
    code, out = _eval("--labels-from", "encoder", "--data", str(tmp_path), "--out", str(tmp_path))
    assert code == 2 and len(out.strip().splitlines()) == 1
    assert "needs the NIH images" in out and "--data" in out


def test_cli_refuses_impossible_combinations(tmp_path: Path) -> None:
    out_dir = str(tmp_path / "o")
    code, out = _eval("--uncertified-encoder-ok", "--out", out_dir)
    assert code == 2 and "--labels-from encoder only" in out
    code, out = _eval("--labels-from", "encoder", "--dataset", "iu-xray", "--out", out_dir)
    assert code == 2 and "has no images" in out
    code, out = _eval("--dataset", "nih1000", "--out", out_dir)
    assert code == 2 and "no reference reports" in out
    assert not (tmp_path / "o").exists()


def test_rescore_keeps_nih_reference_labels_and_encoder_probabilities(
    tiny_services: Services, nih_dir: Path, tmp_path: Path
) -> None:
    from rag.evaluation.runner import rescore, run

    encoder = FakeImageEncoder(PROBS)
    cases = nih_cases(nih_dir, "test", encoder)
    drafter = ImagePathDrafter(GuardedDrafter(tiny_services.pipeline, "extractive"), CERTIFIED_OPEN)
    cfg = {"generator": "extractive", "labels_from": "encoder"}
    first = run(cases, drafter, RuleLabeler(), tmp_path / "a", cfg, progress=False)
    again = rescore(tmp_path / "a", tmp_path / "b", RuleLabeler())
    assert first["n_drafted"] > 0 and first["bleu4"] is None
    keys = ("n_drafted", "hallucinated_finding_rate", "contradiction_rate", "chexpert_f1_micro")
    assert {k: again[k] for k in keys} == {k: first[k] for k in keys}
    assert again["subgroups"] == first["subgroups"] and again["bleu4"] is None
    assert again["encoder_reliability"] == first["encoder_reliability"]
    line = (tmp_path / "b" / "cases.jsonl").read_text().splitlines()[2]
    assert json.loads(line)["reference_labels"]["pleural_effusion"] == "present"
