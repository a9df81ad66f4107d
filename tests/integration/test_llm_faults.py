"""LLM server faults with real processes: `radrag serve` talking to a fake OpenAI-compatible
server (tests/fake_openai_server.py) that the tests start, SIGKILL, slow down, break and
restart on the same port. Every draft must end in a verified report or an explicit
abstention, never a 5xx or unverified text, and the API must recover by itself.

One API process serves the whole module (started while the LLM server is down); each test
first brings the LLM server back to healthy and waits, by polling, until drafts succeed
(the circuit breaker may still be cooling down from the previous test).
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rag.config import Settings
from rag.kb.build import build_version
from tests.fakes import TINY_CORPUS
from tests.integration.processes import ApiProcess, free_port, start_api, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LABELS = {"cardiomegaly": "present", "pleural_effusion": "absent"}
# Short limits so each fault resolves in seconds; generous polling deadlines absorb a
# loaded machine. The generator's retry backoff is its default, 0.5 s.
LLM_TIMEOUT_S = 2.5
LLM_RETRIES = 1
BACKOFF_S = 0.5
BREAKER_FAILURES = 3
BREAKER_COOLDOWN_S = 2.0
# Faults, measured: printed at the end of the module (run with -s to see them).
MATRIX: list[str] = []


class FakeLLM:
    """The fake OpenAI server as its own OS process, on one fixed loopback port."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, mode: str = "ok", delay_s: float = 0.0) -> None:
        """Start it and wait until it answers /v1/models."""
        assert not self.running
        cmd = [sys.executable, "-m", "tests.fake_openai_server", "--port", str(self.port)]
        cmd += ["--mode", mode, "--delay-s", str(delay_s)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"fake LLM server exited: {self.log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{self.url}/v1/models", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 60, "the fake LLM server to listen")

    def kill(self) -> None:
        """SIGKILL: no goodbye to the connections in flight, as when a server dies."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def set_mode(self, mode: str, delay_s: float = 0.0) -> None:
        """Change its behaviour in place."""
        r = httpx.post(f"{self.url}/_fake/mode", json={"mode": mode, "delay_s": delay_s})
        r.raise_for_status()

    def stats(self) -> dict[str, int]:
        """Chat requests received so far, and how many are being answered."""
        return httpx.get(f"{self.url}/_fake/stats", timeout=5).json()


@dataclass(frozen=True)
class Answer:
    """One POST /v1/reports as the client saw it."""

    status: int
    body: dict
    retry_after: str | None
    seconds: float
    ended: float  # time.monotonic() when the answer arrived

    @property
    def codes(self) -> list[str]:
        """The abstention reason codes (empty when drafted)."""
        abstention = self.body.get("abstention") or {"reasons": []}
        return [r["code"] for r in abstention["reasons"]]

    @property
    def message(self) -> str:
        """The first abstention message."""
        return self.body["abstention"]["reasons"][0]["message"]

    @property
    def drafted(self) -> bool:
        """Whether a verified report came back."""
        return self.status == 200 and self.body["status"] == "drafted"


def post_draft(api: ApiProcess) -> Answer:
    """Ask for a draft; the timeout only guards against a hung test."""
    t0 = time.monotonic()
    r = httpx.post(f"{api.base}/v1/reports", json={"labels": LABELS}, timeout=60)
    t1 = time.monotonic()
    return Answer(r.status_code, r.json(), r.headers.get("retry-after"), t1 - t0, t1)


def assert_abstained(a: Answer, code: str) -> None:
    """An explicit abstention with exactly this reason, and no text at all."""
    assert a.status == 200, (a.status, a.body)
    assert a.body["status"] == "abstained" and a.body["report"] is None, a.body
    assert a.codes == [code], a.body


def readyz(api: ApiProcess) -> tuple[int, dict]:
    """Readiness as a load balancer sees it."""
    r = httpx.get(f"{api.base}/readyz", timeout=30)
    return r.status_code, r.json()


def healthy(api: ApiProcess, llm: FakeLLM) -> None:
    """A well-behaved LLM server, and drafts succeeding again (breaker closed)."""
    if llm.running:
        llm.set_mode("ok")
    else:
        llm.start("ok")

    def drafted() -> bool:
        a = post_draft(api)
        # Only the breaker (still cooling down) may hold a draft back here.
        if not a.drafted and a.codes != ["generator_unavailable"]:
            pytest.fail(f"unexpected answer from a healthy set-up: {a.status} {a.body}")
        return a.drafted

    wait_for(
        drafted,
        BREAKER_COOLDOWN_S + 60,
        "drafts to succeed against a healthy LLM server",
        interval_s=0.2,
    )


def record(case: str, answers: list[Answer], extra: str = "") -> None:
    """One line of the fault matrix."""
    statuses = sorted({a.status for a in answers})
    codes = sorted({c for a in answers for c in a.codes}) or ["drafted"]
    worst = max(a.seconds for a in answers)
    MATRIX.append(
        f"{case}: HTTP {statuses}, {codes}, n={len(answers)}, slowest {worst:.2f} s {extra}"
    )


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeLLM]:
    """The fake LLM server's port, reserved for the module; not started yet."""
    fake = FakeLLM(free_port(), tmp_path_factory.mktemp("fake-llm") / "fake-llm.log")
    yield fake
    fake.kill()


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, llm: FakeLLM
) -> Iterator[ApiProcess]:
    """`radrag serve` with the vLLM generator, started while its LLM server is down, over a
    small KB embedded by the real embedder."""
    assert not llm.running
    settings = Settings(home=tmp_path_factory.mktemp("faults-home"), auth="disabled")
    proc = start_api(
        settings,
        free_port(),
        RADRAG_AUTH="disabled",
        RADRAG_GENERATOR="vllm",
        RADRAG_VLLM_URL=llm.url,
        RADRAG_VLLM_MODEL="fake-llm",
        RADRAG_LLM_TIMEOUT_S=str(LLM_TIMEOUT_S),
        RADRAG_LLM_MAX_RETRIES=str(LLM_RETRIES),
        RADRAG_LLM_BREAKER_FAILURES=str(BREAKER_FAILURES),
        RADRAG_LLM_BREAKER_COOLDOWN_S=str(BREAKER_COOLDOWN_S),
        RADRAG_MIN_SUPPORT_SCORE="-1",  # the tiny KB is about coverage, not retrieval scores
        RADRAG_KB_WATCH_SECONDS="0",
    )
    try:
        # The KB is built while the API starts up (both load the embedder), then loaded.
        embedder = request.getfixturevalue("real_embedder")
        build_version(settings.kb_root, list(TINY_CORPUS), embedder, {"test": "tiny"})
        proc.wait_until("/healthz")  # it cannot be ready: its LLM server is down
        reload = httpx.post(f"{proc.base}/v1/kb/reload", timeout=60)
        assert reload.status_code == 200, reload.text
        yield proc
    finally:
        proc.stop()
    print("\nLLM fault matrix (radrag serve + fake OpenAI server process):")
    print("\n".join(f"  {line}" for line in MATRIX))


def test_llm_down_at_start_abstains_and_readiness_says_unreachable(
    api: ApiProcess, llm: FakeLLM
) -> None:
    assert not llm.running
    status, ready = readyz(api)
    assert status == 503 and ready["ready"] is False
    assert ready["kb_version"]  # the KB is fine: only the LLM server is missing
    assert ready["llm"]["reachable"] is False and ready["llm"]["error"] == "ConnectError"
    answers = [post_draft(api) for _ in range(BREAKER_FAILURES + 1)]
    for a in answers:
        assert_abstained(a, "generator_unavailable")
    assert all("unreachable (ConnectError)" in a.message for a in answers[:-1])
    # The breaker opened at the third failure: the fourth fails fast and says when to retry.
    last = answers[-1]
    assert "circuit breaker is open" in last.message
    assert last.retry_after is not None and 1 <= int(last.retry_after) <= BREAKER_COOLDOWN_S
    record("(a) LLM down at start", answers, f"(breaker-open answer {last.seconds:.2f} s)")


def test_llm_killed_mid_request_abstains(api: ApiProcess, llm: FakeLLM) -> None:
    healthy(api, llm)
    n = 4
    llm.set_mode("ok", delay_s=60)  # requests hang at the server until it dies
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(post_draft, api) for _ in range(n)]
        wait_for(lambda: llm.stats()["in_flight"] >= 1, 30, "a draft to reach the LLM server")
        # Give the others a moment to arrive too (bounded: they must not time out first).
        settle = time.monotonic() + LLM_TIMEOUT_S / 2
        while llm.stats()["in_flight"] < n and time.monotonic() < settle:
            time.sleep(0.05)
        in_flight = llm.stats()["in_flight"]
        llm.kill()
        killed_at = time.monotonic()
        answers = [f.result() for f in futures]
    assert in_flight >= 1
    for a in answers:
        assert_abstained(a, "generator_unavailable")
    after_kill = max(a.ended - killed_at for a in answers)
    # A cut connection is retried once (after the backoff) and then refused at once.
    assert after_kill < BACKOFF_S + 10
    record(
        "(b) LLM SIGKILLed mid-request",
        answers,
        f"({in_flight} in flight at the kill; all answered {after_kill:.2f} s after it)",
    )


def test_llm_slower_than_the_timeout_abstains_in_bounded_time(
    api: ApiProcess, llm: FakeLLM
) -> None:
    healthy(api, llm)
    llm.set_mode("ok", delay_s=60)
    a = post_draft(api)
    assert_abstained(a, "generator_unavailable")
    assert "timed out (after 2 attempts)" in a.message
    bound = (LLM_RETRIES + 1) * LLM_TIMEOUT_S + BACKOFF_S
    assert bound - BACKOFF_S <= a.seconds < bound + 10
    # The server is up (it lists its model at once): readiness holds; one failure is not
    # enough to open the breaker.
    status, ready = readyz(api)
    assert status == 200 and ready["llm"]["breaker"]["state"] == "closed"
    record("(c) LLM slower than the timeout", [a], f"(bound {bound:.1f} s)")


def test_llm_http_500_abstains_and_opens_the_breaker(api: ApiProcess, llm: FakeLLM) -> None:
    healthy(api, llm)
    llm.set_mode("http_500")
    sent = llm.stats()["requests"]
    answers = [post_draft(api) for _ in range(BREAKER_FAILURES + 1)]
    for a in answers:
        assert_abstained(a, "generator_unavailable")
    assert all("HTTP 500 (after 2 attempts)" in a.message for a in answers[:-1])
    last = answers[-1]
    assert "circuit breaker is open" in last.message and last.retry_after is not None
    # Each failing draft tried twice; the one refused by the open breaker sent nothing.
    assert llm.stats()["requests"] - sent == BREAKER_FAILURES * (LLM_RETRIES + 1)
    # Up, but failing: not ready while the breaker cools down, and it says until when.
    status, ready = readyz(api)
    assert status == 503 and ready["llm"]["reachable"] is True
    assert ready["llm"]["breaker"]["state"] == "open" and "circuit breaker" in ready["reason"]
    record("(d) LLM answers HTTP 500", answers, f"(breaker-open answer {last.seconds:.2f} s)")


@pytest.mark.parametrize("mode", ["invalid_json", "schema_violation", "truncated"])
def test_bad_llm_output_abstains_without_tripping_the_breaker(
    api: ApiProcess, llm: FakeLLM, mode: str
) -> None:
    healthy(api, llm)
    llm.set_mode(mode)
    sent = llm.stats()["requests"]
    answers = [post_draft(api) for _ in range(BREAKER_FAILURES + 1)]
    for a in answers:
        assert_abstained(a, "generator_invalid_output")
        assert a.retry_after is None
    # The server is up: every draft reached it once (no retry, no breaker).
    assert llm.stats()["requests"] - sent == BREAKER_FAILURES + 1
    status, ready = readyz(api)
    assert status == 200 and ready["llm"]["breaker"]["state"] == "closed"
    record(f"(d) LLM output {mode}", answers)


def test_api_recovers_by_itself_when_the_llm_server_returns(api: ApiProcess, llm: FakeLLM) -> None:
    healthy(api, llm)
    pid = api.proc.pid
    llm.kill()
    failed = [post_draft(api) for _ in range(BREAKER_FAILURES - 1)]
    before_opening = time.monotonic()
    failed.append(post_draft(api))  # this one opens the breaker
    for a in failed:
        assert_abstained(a, "generator_unavailable")
    # The answer that opened the breaker already says when the server is tried again.
    assert failed[-1].retry_after == str(math.ceil(BREAKER_COOLDOWN_S))
    llm.start("ok")  # same port, a new process
    polled: list[Answer] = []

    def drafted() -> bool:
        polled.append(post_draft(api))
        return polled[-1].drafted

    wait_for(drafted, BREAKER_COOLDOWN_S + 60, "drafts to succeed again", interval_s=0.2)
    recovered_s = polled[-1].ended - before_opening
    # Until the cool-down ended drafts failed fast, without reaching the server...
    for a in polled[:-1]:
        assert_abstained(a, "generator_unavailable")
        assert "circuit breaker is open" in a.message
    assert recovered_s >= BREAKER_COOLDOWN_S
    # ...then a single trial request reached it and closed the breaker.
    assert llm.stats()["requests"] == 1
    assert api.proc.poll() is None and api.proc.pid == pid  # the API was never restarted
    status, ready = readyz(api)
    assert status == 200 and ready["llm"]["breaker"]["state"] == "closed"
    record(
        "(e) LLM restarted on the same port",
        [polled[-1]],
        f"(drafting again {recovered_s:.2f} s after the breaker opened, "
        f"{len(polled) - 1} fast refusals, cool-down {BREAKER_COOLDOWN_S} s, "
        f"Retry-After {failed[-1].retry_after} s when it opened)",
    )
