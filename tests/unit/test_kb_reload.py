"""Hot reload: new versions are picked up without a restart and without failed requests."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.api.app import create_app
from rag.kb.build import build_version
from rag.kb.store import INDEX, KBError, current_version, publish, versions_dir
from rag.services import Services
from tests.fakes import TINY_CORPUS, HashEmbedder, sentence_passage

pytestmark = pytest.mark.unit

BODY = {"labels": {"cardiomegaly": "present", "pleural_effusion": "absent"}}


def _second_version(root: Path) -> str:
    extra = [*TINY_CORPUS, sentence_passage("ex-77", "The cardiac silhouette is enlarged.")]
    return build_version(root, extra, HashEmbedder(), {"t": "y"}, publish_now=False).version


def _tamper(root: Path, version: str) -> None:
    path = versions_dir(root) / version / INDEX
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_reload_endpoint_swaps_versions(tiny_services: Services) -> None:
    root = tiny_services.settings.kb_root
    old = current_version(root)
    new = _second_version(root)
    publish(root, new)
    with TestClient(create_app(services=tiny_services)) as c:
        r = c.post("/v1/kb/reload")
        assert r.status_code == 200 and r.json()["kb_version"] == new
        assert r.json()["previous"] == old
        report = c.post("/v1/reports", json=BODY).json()
        assert report["provenance"]["kb_version"] == new


def test_tampered_version_is_refused_and_the_old_one_keeps_serving(
    tiny_services: Services,
) -> None:
    root = tiny_services.settings.kb_root
    old = current_version(root)
    bad = _second_version(root)
    _tamper(root, bad)
    publish(root, bad)
    with TestClient(create_app(services=tiny_services)) as c:
        r = c.post("/v1/kb/reload")
        assert r.status_code == 409 and "sha256" in r.json()["detail"]["message"]
        assert r.json()["detail"]["serving"] == old
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["kb_version"] == old  # old serves
        assert "sha256" in ready.json()["last_reload_error"]
        assert c.post("/v1/reports", json=BODY).json()["provenance"]["kb_version"] == old
    with pytest.raises(KBError):
        tiny_services.kb.reload()
    assert tiny_services.kb.reload_if_changed() is False  # a refused version is not retried


def test_reload_under_concurrent_requests_fails_none(tiny_services: Services) -> None:
    root = tiny_services.settings.kb_root
    versions = [current_version(root), _second_version(root)]
    with TestClient(create_app(services=tiny_services)) as c:

        def draft(_: int) -> tuple[int, str | None]:
            r = c.post("/v1/reports", json=BODY)
            return r.status_code, r.json().get("provenance", {}).get("kb_version")

        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(draft, i) for i in range(300)]
            swaps = 0
            while not all(f.done() for f in futures):
                publish(root, versions[(swaps + 1) % 2])  # first swap: to the new one
                assert c.post("/v1/kb/reload").status_code == 200
                swaps += 1
            results = [f.result() for f in futures]
    assert swaps >= 2
    assert all(code == 200 for code, _ in results)
    seen = {v for _, v in results}
    assert seen <= set(versions) and len(seen) == 2


def test_pointer_watch_picks_up_a_new_version(tiny_services: Services) -> None:
    svc = Services(
        settings=tiny_services.settings.model_copy(update={"kb_watch_seconds": 0.05}),
        embedder=tiny_services.embedder,
        kb=tiny_services.kb,
        pipeline=tiny_services.pipeline,
    )
    root = svc.settings.kb_root
    new = _second_version(root)
    with TestClient(create_app(services=svc)) as c:
        publish(root, new)
        deadline = time.monotonic() + 5
        while c.get("/readyz").json()["kb_version"] != new and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.get("/readyz").json()["kb_version"] == new
