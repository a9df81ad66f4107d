"""`radrag serve` as a real process over HTTP on loopback, as `make run` starts it."""

from __future__ import annotations

import signal

import httpx
import pytest

from rag.store.database import Database
from rag.store.keys import DbKeyStore
from tests.integration.processes import free_port, serve_api

pytestmark = pytest.mark.integration


def test_serve_drafts_over_http(real_settings, real_kb) -> None:
    port = free_port()
    # Keys live in the database the server process opens (SQLite under its home).
    key = DbKeyStore(Database.open(real_settings.db_url)).create(f"it-{port}", ["draft"])
    auth = {"Authorization": f"Bearer {key}"}
    api = serve_api(real_settings, port)
    base = api.base
    try:
        assert httpx.post(f"{base}/v1/reports", json={}, timeout=30).status_code == 401
        r = httpx.post(
            f"{base}/v1/reports",
            timeout=30,
            headers=auth,
            json={"labels": {"pneumothorax": "present", "pleural_effusion": "absent"}},
        )
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "drafted"
        assert body["provenance"]["kb_version"] == real_kb.version
        assert len(body["draft_id"]) == 32  # stored by the server process
        bad = httpx.post(
            f"{base}/v1/reports", json={"labels": {"pneumothorax": 3}}, timeout=30, headers=auth
        )
        assert bad.status_code == 422 and "labels.pneumothorax" in bad.json()["message"]
    finally:
        api.stop()


def test_sigterm_lets_in_flight_requests_finish(real_settings, real_kb) -> None:
    import concurrent.futures
    import threading

    api = serve_api(real_settings, free_port(), RADRAG_AUTH="disabled")
    base, proc = api.base, api.proc
    body = {"labels": {"cardiomegaly": "present", "edema": "uncertain", "pneumothorax": "absent"}}

    first = threading.Event()

    def post(_: int) -> int | str:
        try:
            code = httpx.post(f"{base}/v1/reports", json=body, timeout=60).status_code
            first.set()
            return code
        except httpx.TransportError as exc:  # refused after shutdown began: not an answer
            return type(exc).__name__

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(post, i) for i in range(64)]
        # Signal only once requests are flowing, so some are surely in flight.
        assert first.wait(timeout=120), "no request was answered before the signal"
        proc.send_signal(signal.SIGTERM)
        outcomes = [f.result() for f in futures]
    # uvicorn re-raises the captured SIGTERM after its graceful shutdown: -15 or 0.
    assert proc.wait(timeout=40) in (0, -signal.SIGTERM)
    answered = [o for o in outcomes if isinstance(o, int)]
    # Every request that got an answer got a complete 200; none was cut to a 5xx.
    assert answered and all(o == 200 for o in answered), outcomes
    # The rest were refused: connections still in the listen backlog when the socket
    # closed are reset (ConnectError / ReadError / RemoteProtocolError on the client).
    refused = {"ConnectError", "ReadError", "RemoteProtocolError"}
    assert all(o in refused for o in outcomes if not isinstance(o, int)), outcomes
