"""Continuous validation: AUROC/calibration vs reviewer labels, rates, alerts, recertify."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from rag.api.app import create_app
from rag.cli import app as cli
from rag.config import get_settings
from rag.domain import DecodedImage, Finding, ImageScores
from rag.review.monitor import Bounds, DraftCase, SignedCase, auroc, build_report, ece
from rag.review.recertify import held_out
from rag.services import Services
from tests.image_fakes import BAND

pytestmark = pytest.mark.unit
LOOSE = Bounds(min_auroc=0.0, max_ece=1.0, min_acceptance=0.0, max_abstention=1.0)


def test_auroc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300) * 0.5 + y * 0.3, 1)  # coarse: many ties
    assert auroc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert auroc(np.ones(5), np.linspace(0, 1, 5)) is None
    assert ece(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0
    assert ece(np.array([0, 0]), np.array([0.95, 0.95])) == pytest.approx(0.95)


def _case(p: float, final: str, edited: bool = False, sex: str = "F") -> SignedCase:
    return SignedCase(
        proposed={"edema": p},
        final={"edema": final},
        edited=edited,
        meta={"sex": sex, "age_band": None, "view": "PA"},
    )


def test_report_rates_subgroups_and_alerts() -> None:
    now = datetime.now(UTC)
    good = [_case(0.9, "present") for _ in range(6)] + [_case(0.1, "absent") for _ in range(6)]
    bad = [_case(0.9, "absent", True, "M") for _ in range(6)]
    bad += [_case(0.1, "present", True, "M") for _ in range(6)]
    drafts = [DraftCase("drafted", (), {"sex": "F"})] * 3
    drafts += [DraftCase("awaiting_review", ("risk_not_certified",), {"sex": "M"})] * 12
    fb = [("removed", "wrong_finding"), ("edited", "style"), ("removed", "wrong_finding")]
    bounds = Bounds(min_auroc=0.7, max_ece=0.3, min_acceptance=0.6, max_abstention=0.5)
    r = build_report(now - timedelta(days=1), now, good + bad, drafts, fb, bounds)
    assert r.signed == 24 and r.acceptance_rate == 0.5
    assert r.abstention_rate == pytest.approx(12 / 15)
    assert r.abstention_by_reason == {"risk_not_certified": 12}
    assert r.sentence_feedback == {"removed": {"wrong_finding": 2}, "edited": {"style": 1}}
    assert r.findings["edema"]["auroc"] == 0.5 and r.findings["edema"]["n"] == 24
    assert r.subgroups["sex"]["F"]["mean_auroc"] == 1.0
    assert r.subgroups["sex"]["M"]["mean_auroc"] == 0.0
    alerts = " | ".join(r.alerts)
    assert "edema: AUROC 0.500 below 0.7" in alerts and "sex=M: mean AUROC" in alerts
    assert "acceptance 0.50 below 0.6" in alerts and "abstention 0.80 above 0.5" in alerts
    assert "sex=F" not in alerts
    quiet = build_report(now - timedelta(days=1), now, good, drafts[:3], [], LOOSE)
    assert quiet.alerts == []


class BrightnessEncoder:
    """Effusion probability = the image's mean brightness / 255 (a deterministic, varied score)."""

    id = "brightness-encoder"
    # Every file the fail-closed gate asks for is present; only certification is missing.
    missing: ClassVar[tuple] = ()
    guard_calibration: ClassVar[dict] = {
        "certified": False,
        "alpha": 0.1,
        "risk_without_threshold": 0.4,
    }

    def encode(self, image: DecodedImage) -> ImageScores:
        """Scores from the pixels."""
        p = float(image.pixels.mean()) / 255
        probs = {Finding.pleural_effusion: p, Finding.cardiomegaly: 0.05}
        return ImageScores(
            probabilities=probs,
            bands={f: BAND for f in probs},
            ood_score=0.0,
            ood_threshold=1.0,
            encoder=self.id,
        )


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16), value, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_reviews_reach_the_monitor_and_recertify(
    tiny_services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = dataclasses.replace(tiny_services, image_encoder=BrightnessEncoder())
    rng = np.random.default_rng(1)
    truth, probs = [], []
    with TestClient(create_app(services=svc)) as c:
        for i in range(24):
            value = int(rng.integers(20, 235))
            files = [("images", ("x.png", _png(value), "image/png"))]
            body = c.post("/v1/reports/images", files=files, data={"sex": "FM"[i % 2]}).json()
            assert body["draft_status"] == "awaiting_review"
            # The "radiologist": effusion when the image is bright, with some disagreement.
            present = value > 128 if i % 5 else value <= 128
            truth.append(int(present))
            probs.append(round(value / 255, 4))
            state = "present" if present else "absent"
            labels = {"pleural_effusion": state, "cardiomegaly": "absent"}
            r = c.patch(f"/v1/drafts/{body['draft_id']}", json={"labels": labels})
            assert r.status_code == 200 and r.json()["status"] == "drafted", r.text
            assert c.post(f"/v1/drafts/{body['draft_id']}/sign").status_code == 200
        page = c.get("/review/monitor?since=1d")
        assert page.status_code == 200 and 'id="m-signed">24<' in page.text
    monkeypatch.setenv("RADRAG_HOME", str(svc.settings.home))
    encoder_dir = tmp_path / "encoder"
    encoder_dir.mkdir()
    monkeypatch.setenv("RADRAG_IMAGE_ENCODER", str(encoder_dir))
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(cli, ["monitor", "--since", "1h", "--json"])
        assert out.exit_code == 0, out.output
        r = json.loads(out.output)
        assert r["signed"] == 24 and r["drafts"] == 24
        assert r["abstention_by_reason"] == {"risk_not_certified": 24}
        expected = roc_auc_score(truth, probs)
        assert r["findings"]["pleural_effusion"]["auroc"] == pytest.approx(expected, abs=1e-9)
        assert r["subgroups"]["sex"]["F"]["signed"] == 12
        out = CliRunner().invoke(cli, ["guard", "recertify", "--since", "1h", "--alpha", "0.3"])
        assert out.exit_code == 0, out.output
        candidate = Path(out.output.strip().split()[-1])
        cert = json.loads(candidate.read_text())
        assert cert["n_cases"] == 24 and cert["source"].startswith("reviewed cases")
        # Not served until promoted.
        assert not (encoder_dir / "guard_calibration.json").exists()
        out = CliRunner().invoke(cli, ["guard", "promote", str(candidate)])
        assert out.exit_code == 0, out.output
        assert json.loads((encoder_dir / "guard_calibration.json").read_text()) == cert
        bad = CliRunner().invoke(cli, ["monitor", "--since", "yesterday"])
        assert bad.exit_code != 0 and "--since" in bad.output
    finally:
        get_settings.cache_clear()


def test_held_out_share_is_stable() -> None:
    ids = [f"case-{i}" for i in range(2000)]
    picked = [i for i in ids if held_out(i, 0.3)]
    assert picked == [i for i in ids if held_out(i, 0.3)]
    assert 0.25 < len(picked) / len(ids) < 0.35
