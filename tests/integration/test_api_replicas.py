"""Two stateless `radrag serve` replicas over one KB home: a publish under load loses nothing.

Each replica polls the shared CURRENT pointer and swaps the knowledge base atomically, so
32 concurrent clients spread over both see only answers, never errors, and every answer
names the version that produced it: the old one before the swap, the new one after.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from rag.config import Settings
from rag.domain import Passage, PassageKind
from rag.kb.refresh import refresh
from rag.kb.store import load_version
from tests.integration.processes import ApiProcess, free_port, start_api, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENTS = 32
LABELS = [
    {"cardiomegaly": "present", "pleural_effusion": "absent"},
    {"pneumothorax": "absent", "edema": "uncertain"},
    {"atelectasis": "present"},
]


def test_two_replicas_serve_through_a_publish(
    real_settings: Settings, real_kb, real_embedder, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(real_settings.kb_root, home / "kb")  # leave the session KB alone
    settings = Settings(home=home, assets=real_settings.assets_dir, auth="disabled")
    env = {"RADRAG_AUTH": "disabled", "RADRAG_KB_WATCH_SECONDS": "0.5"}
    # Clients pick replicas in turn, so one may briefly hold more than half of them.
    env["RADRAG_MAX_INFLIGHT"] = str(CLIENTS)
    apis: list[ApiProcess] = [start_api(settings, free_port(), **env) for _ in range(2)]
    try:
        for api in apis:
            api.wait_until("/readyz")
        answers, stop = _load(apis, real_kb.version, home, real_embedder)
    finally:
        for api in apis:
            api.stop()
    new = load_version(home / "kb").version
    assert new != real_kb.version
    failures = [a for a in answers if a[1] != 200 or a[2] not in (real_kb.version, new)]
    assert not failures, failures[:5]
    seen = Counter((base, version) for base, _, version in answers)
    print(f"replicas: {len(answers)} answers, 0 failed; per replica and version: {dict(seen)}")
    for api in apis:  # both replicas answered from both versions
        assert seen[(api.base, real_kb.version)] > 0 and seen[(api.base, new)] > 0, seen
    assert stop == "both replicas serve the new version"


def _load(apis: list[ApiProcess], old: str, home: Path, embedder):
    """Drive both replicas with CLIENTS threads; publish a version in the middle."""
    answers: list[tuple[str, int, str | None]] = []
    lock, done = threading.Lock(), threading.Event()

    def client(i: int) -> None:
        with httpx.Client(timeout=120) as http:
            n = i
            while not done.is_set():
                base = apis[n % len(apis)].base
                r = http.post(f"{base}/v1/reports", json={"labels": LABELS[n % len(LABELS)]})
                version = r.json().get("provenance", {}).get("kb_version") if r.is_success else None
                with lock:
                    answers.append((base, r.status_code, version))
                n += 1

    def new_seen() -> bool:
        with lock:
            return {b for b, _, v in answers if v not in (None, old)} == {a.base for a in apis}

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client, i) for i in range(CLIENTS)]
        try:
            wait_for(lambda: len(answers) >= CLIENTS, 120, "answers under the old version")
            base = load_version(home / "kb", embedder_id=embedder.id)
            extra = Passage(
                id="replica-1",
                text="Atelectasis is a collapse of lung.",
                kind=PassageKind.definition,
                source="test",
            )
            refresh(home / "kb", lambda: ([*base.passages, extra], {"t": "x"}), embedder)
            deadline = time.monotonic() + 60  # bounded: the watchers poll every 0.5 s
            while not new_seen() and time.monotonic() < deadline:
                time.sleep(0.1)
            stop = "both replicas serve the new version" if new_seen() else "timed out"
        finally:
            done.set()
            for f in futures:
                f.result()
    return answers, stop
