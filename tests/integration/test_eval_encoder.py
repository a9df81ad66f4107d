"""`radrag eval run --labels-from encoder` end to end on ../shared/data/nih1000 (skipped
without it): the committed encoder, a real knowledge base, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.adapters.nih_images import by_split, load_pixels, read_records
from rag.domain import DecodedImage
from rag.imaging_pipeline import draft_from_images
from rag.services import Services

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NIH = REPO.parent / "shared" / "data" / "nih1000"
LIMIT = 8

needs_nih = pytest.mark.skipif(
    not (NIH / "labels.csv").is_file(),
    reason=f"{NIH} is absent: encoder-labelled evaluation needs the shared NIH subset",
)


def _eval(settings, out: Path, *extra: str) -> dict[str, object]:
    env = os.environ | {"RADRAG_HOME": str(settings.home), "RADRAG_ASSETS": str(settings.assets)}
    cmd = [sys.executable, "-m", "rag.cli", "eval", "run", "--labels-from", "encoder"]
    cmd += ["--limit", str(LIMIT), "--out", str(out), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("results.json", "cases.jsonl", "report.html", "encoder_reliability.png"):
        assert (out / name).is_file(), name
    return json.loads((out / "results.json").read_text())


def _cases(out: Path) -> dict[str, dict[str, object]]:
    lines = (out / "cases.jsonl").read_text().splitlines()
    return {str(r["case_id"]): r for r in map(json.loads, lines)}


@needs_nih
def test_encoder_run_measures_what_the_service_does(
    real_settings, real_services: Services, tmp_path: Path
) -> None:
    res = _eval(real_settings, tmp_path / "service")
    assert res["n_cases"] == LIMIT and res["dataset"] == "nih1000" and res["split"] == "test"
    assert res["uncertified_encoder_ok"] is False
    assert res["bleu4"] is None and res["rouge_l"] is None  # NIH has no reference reports
    assert set(res["subgroups"]) == {"sex", "age_band", "view_position"}
    assert res["encoder_reliability"]["n_pairs"] > 0
    # Each case abstains (or drafts) exactly as the service's image path does.
    records = by_split(read_records(NIH))["test"][:LIMIT]
    cases = _cases(tmp_path / "service")
    for rec in records:
        image = DecodedImage(pixels=load_pixels(rec), source="png")
        want, _ = draft_from_images(real_services, [image])
        got = cases[rec.path.stem]
        codes = [r.code for r in want.abstention.reasons] if want.abstention else []
        assert (got["status"], got["abstention"]) == (want.status, codes), rec.path.stem
    guard = real_services.get_image_encoder().guard_calibration  # type: ignore[attr-defined]
    if guard is not None and not guard["certified"]:
        # The shipped encoder is not certified: nothing is drafted, and the run says why.
        assert res["coverage"] == 0.0 and res["hallucinated_finding_rate"] is None
        assert set(res["abstention_reasons"]) <= {"risk_not_certified", "image_out_of_distribution"}
        assert res["abstention_reasons"].get("risk_not_certified", 0) > 0

        lifted = _eval(real_settings, tmp_path / "research", "--uncertified-encoder-ok")
        assert lifted["uncertified_encoder_ok"] is True
        assert lifted["config_hash"] != res["config_hash"]
        assert "risk_not_certified" not in lifted["abstention_reasons"]
        assert "Research run" in (tmp_path / "research" / "report.html").read_text()


@needs_nih
@pytest.mark.slow
def test_encoder_run_on_ray_matches_local(
    ray_cluster: str, real_settings, real_kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Ray the command loads only the image encoder (the cases come from it) and hands
    # the workers its guard; they draft through the same image gate as a local run.
    local = _eval(real_settings, tmp_path / "local")
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster)
    _eval(real_settings, tmp_path / "ray", "--executor", "ray", "--workers", "1")
    assert (tmp_path / "ray" / "results.json").read_text() == json.dumps(local, indent=2)
