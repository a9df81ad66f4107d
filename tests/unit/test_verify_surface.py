"""POST /v1/verify and `radrag verify`: shapes, exit codes and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.adapters.iu_xray import IUReport
from rag.domain import Finding
from rag.evaluation.challenge import load_handwritten, run
from rag.evaluation.mesh import mesh_findings
from rag.labeler import RuleLabeler

pytestmark = pytest.mark.unit


def test_verify_endpoint(client: TestClient) -> None:
    r = client.post(
        "/v1/verify",
        json={
            "id": "r1",
            "labels": {"cardiomegaly": "present", "pleural_effusion": "absent"},
            "text": "The heart is enlarged. Small left effusion. Stable from prior.",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "r1" and body["supported"] is False
    assert [s["verdict"] for s in body["sentences"]] == ["supported", "contradicted", "unsupported"]
    assert any("comparison" in x for x in body["sentences"][2]["reasons"])


def test_verify_prior_licenses_comparison(client: TestClient) -> None:
    r = client.post(
        "/v1/verify",
        json={
            "labels": {"cardiomegaly": "present"},
            "text": "Stable cardiomegaly.",
            "prior": "Cardiomegaly.",
        },
    )
    assert r.json()["supported"] is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"labels": {"edema": "absent"}}, "text"),
        ({"labels": {"oedema": "absent"}, "text": "x"}, "labels.oedema"),
        ({"labels": {"edema": "absent"}, "text": ""}, "text"),
    ],
)
def test_verify_bad_input(client: TestClient, payload: dict, field: str) -> None:
    r = client.post("/v1/verify", json=payload)
    assert r.status_code == 422 and field in r.json()["message"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", "verify", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_single_and_exit_codes() -> None:
    ok = _cli("--labels", '{"edema": "absent"}', "--text", "No pulmonary edema.", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["supported"] is True
    bad = _cli("--labels", '{"edema": "absent"}', "--text", "Pulmonary edema.")
    assert bad.returncode == 4 and "[contradicted]" in bad.stdout
    err = _cli("--labels", '{"edema": "sometimes"}', "--text", "x")
    assert err.returncode == 2 and err.stderr.count("\n") == 1 and "labels.edema" in err.stderr


def test_cli_batch(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(
        '{"id": "a", "labels": {"edema": "absent"}, "text": "No edema."}\n'
        '{"id": "b", "labels": {"edema": "absent"}, "text": "Mild edema, unchanged.", '
        '"prior": "Edema."}\n'
    )
    r = _cli("--batch", str(src), "--out", str(dst))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in dst.read_text().splitlines()]
    assert [(x["id"], x["supported"]) for x in rows] == [("a", True), ("b", False)]
    assert rows[1]["sentences"][0]["verdict"] == "contradicted"


def test_cli_batch_bad_line_writes_nothing(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"id": "a", "labels": {"edema": "absent"}, "text": "No edema."}\n{oops\n')
    r = _cli("--batch", str(src), "--out", str(dst))
    assert r.returncode == 2 and "in.jsonl:2" in r.stderr and not dst.exists()


def test_handwritten_challenge_meets_the_targets() -> None:
    res = run(load_handwritten(), RuleLabeler())
    assert res["n_corrupted"] >= 60 and res["n_correct"] >= 50
    assert res["recall"] >= 0.98, res["errors"]
    assert res["false_alarm_rate"] <= 0.02, res["errors"]


def test_mesh_mapping() -> None:
    rep = IUReport(
        "CXR1",
        "",
        "",
        "x",
        "y",
        (
            "Cardiomegaly/mild",
            "Thickening/pleura/right",
            "Catheters, Indwelling/right",
            "Granuloma/lung",
        ),
    )
    assert mesh_findings(rep) == {
        Finding.cardiomegaly,
        Finding.pleural_other,
        Finding.support_devices,
    }
    assert mesh_findings(IUReport("CXR2", "", "", "", "", ("normal",))) == {Finding.no_finding}
