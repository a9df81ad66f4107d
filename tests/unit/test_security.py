"""API keys and scopes, the audit trail, back-pressure, and no patient text in logs."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, update

from rag.api.app import create_app
from rag.config import Settings
from rag.security.audit import verify_chain
from rag.services import Services
from rag.store.audit import verify_db_chain
from rag.store.tables import AuditRow

pytestmark = pytest.mark.unit
BODY = {"labels": {"cardiomegaly": "present", "pleural_effusion": "absent"}}


@pytest.fixture
def keyed(tiny_services: Services) -> Services:
    settings = tiny_services.settings.model_copy(update={"auth": "keys"})
    return dataclasses.replace(tiny_services, settings=settings)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_and_scopes(keyed: Services) -> None:
    drafter = keyed.keys.create("drafter", ["draft"])
    checker = keyed.keys.create("checker", ["verify"])
    with TestClient(create_app(services=keyed)) as c:
        assert c.get("/healthz").status_code == 200  # liveness needs no key
        r = c.post("/v1/reports", json=BODY)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.post("/v1/reports", json=BODY, headers=_auth("rr_wrong")).status_code == 401
        r = c.post("/v1/reports", json=BODY, headers=_auth(checker))
        assert r.status_code == 403 and "draft" in r.json()["detail"]["message"]
        assert c.post("/v1/reports", json=BODY, headers=_auth(drafter)).status_code == 200
        assert c.post("/v1/reports", json=BODY, headers={"X-API-Key": drafter}).status_code == 200
        # Rotation without restart: revoke one key, add another.
        assert keyed.keys.revoke("drafter")
        assert c.post("/v1/reports", json=BODY, headers=_auth(drafter)).status_code == 401
        new = keyed.keys.create("drafter-2", ["draft", "verify"])
        assert c.post("/v1/reports", json=BODY, headers=_auth(new)).status_code == 200
    # Only hashes are stored: no key appears anywhere in the database file.
    stored = b"".join(p.read_bytes() for p in keyed.settings.home.glob("radrag.db*"))
    assert stored and all(k.encode() not in stored for k in (drafter, checker, new))


def test_auth_off_is_loopback_only() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        Settings(auth="disabled", host="0.0.0.0")


def test_audit_trail_is_chained_and_holds_no_patient_text(tiny_services: Services) -> None:
    marker = "PATIENT-JANE-DOE-4471"
    with TestClient(create_app(services=tiny_services)) as c:
        c.post("/v1/reports", json={**BODY, "indication": marker, "prior_report": marker})
        c.post(
            "/v1/verify",
            json={"labels": {"edema": "absent"}, "text": "No edema.", "indication": marker},
        )
        c.post("/v1/reports", json={"labels": {"fracture": "present"}})
    db = tiny_services.db
    assert db is not None
    with db.read() as s:
        bodies = [r.body for r in s.scalars(select(AuditRow).order_by(AuditRow.seq))]
    assert all(marker not in b for b in bodies)
    entries = [json.loads(x) for x in bodies]
    assert [e["action"] for e in entries] == ["draft", "verify", "draft"]
    assert entries[0]["decision"] == "drafted" and entries[2]["decision"] == "abstained"
    assert entries[0]["kb_version"] and entries[0]["verdicts"][0]["verdict"] == "supported"
    assert entries[0]["draft_id"] and entries[2]["draft_id"]
    assert verify_db_chain(db)[0]
    env = {**os.environ, "RADRAG_HOME": str(tiny_services.settings.home)}
    cli = [sys.executable, "-m", "rag.cli", "audit", "verify"]
    assert subprocess.run(cli, capture_output=True, check=False, env=env).returncode == 0
    # Editing a decision in the database breaks the chain.
    with db.write() as s:
        s.execute(
            update(AuditRow)
            .where(AuditRow.seq == 2)
            .values(body=bodies[1].replace('"supported"', '"flagged"'))
        )
    ok, _, msg = verify_db_chain(db)
    assert not ok and "seq 2" in msg
    assert subprocess.run(cli, capture_output=True, check=False, env=env).returncode == 1


def test_file_audit_trail_still_verifies(tiny_services: Services, tmp_path) -> None:
    """With persistence off the trail is the JSONL file, chained the same way."""
    settings = tiny_services.settings.model_copy(update={"persist": False})
    svc = Services(
        settings=settings,
        embedder=tiny_services.embedder,
        kb=tiny_services.kb,
        pipeline=tiny_services.pipeline,
    )
    marker = "PATIENT-JANE-DOE-4471"
    with TestClient(create_app(services=svc)) as c:
        r = c.post("/v1/reports", json={**BODY, "indication": marker, "prior_report": marker})
        assert r.json()["draft_id"] is None
        c.post(
            "/v1/verify",
            json={"labels": {"edema": "absent"}, "text": "No edema.", "indication": marker},
        )
        c.post("/v1/reports", json={"labels": {"fracture": "present"}})
    path = settings.audit_file
    text = path.read_text()
    assert marker not in text and verify_chain(path)[0]
    cli = [sys.executable, "-m", "rag.cli", "audit", "verify", "--file", str(path)]
    assert subprocess.run(cli, capture_output=True, check=False).returncode == 0
    # Editing a decision breaks the chain; so does deleting a line.
    lines = text.splitlines()
    path.write_text(
        "\n".join([lines[0], lines[1].replace('"supported"', '"flagged"'), lines[2]]) + "\n"
    )
    ok, _, msg = verify_chain(path)
    assert not ok and "line 2" in msg
    path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    assert not verify_chain(path)[0]
    assert subprocess.run(cli, capture_output=True, check=False).returncode == 1


def test_no_patient_text_in_logs(tiny_services: Services, caplog: pytest.LogCaptureFixture) -> None:
    marker = "PATIENT-JOHN-ROE-9920"
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(services=tiny_services)) as c:
        c.post("/v1/reports", json={**BODY, "indication": marker, "prior_report": marker})
        c.post("/v1/reports", json={"labels": {"edema": "nope"}, "indication": marker})
        c.post("/v1/verify", json={"labels": {"edema": "absent"}, "text": marker})
    assert "draft seq=" in caplog.text  # the service does log its decisions...
    assert marker not in caplog.text  # ...but never the patient's text


def test_backpressure_answers_503_with_retry_after(tiny_services: Services) -> None:
    settings = tiny_services.settings.model_copy(update={"max_inflight": 2})
    app = create_app(services=dataclasses.replace(tiny_services, settings=settings))
    with TestClient(app) as c:
        app.state.limiter.inflight = 2  # two drafts already running
        r = c.post("/v1/reports", json=BODY)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        app.state.limiter.inflight = 1
        assert c.post("/v1/reports", json=BODY).status_code == 200
        assert app.state.limiter.inflight == 1  # released after the request


def test_kb_reload_needs_the_admin_scope(keyed: Services) -> None:
    drafter = keyed.keys.create("drafter", ["draft", "verify"])
    admin = keyed.keys.create("ops", ["admin"])
    with TestClient(create_app(services=keyed)) as c:
        assert c.post("/v1/kb/reload").status_code == 401
        assert c.post("/v1/kb/reload", headers=_auth(drafter)).status_code == 403
        r = c.post("/v1/kb/reload", headers=_auth(admin))
        assert r.status_code == 200, r.text
        assert r.json()["kb_version"] == keyed.kb.get().version
