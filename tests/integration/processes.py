"""Real processes for integration tests: free loopback ports, `radrag serve`, polling."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from rag.config import Settings

T = TypeVar("T")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    check: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.05
) -> T:
    """Poll `check` until it returns something truthy; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


@dataclass
class ApiProcess:
    """A running `radrag serve` and where its output goes."""

    proc: subprocess.Popen
    base: str
    log: Path

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's output (for failure messages)."""
        return self.log.read_text(errors="replace")[-chars:]

    def wait_until(self, path: str, timeout_s: float = 180.0) -> None:
        """Wait until GET `path` answers 200; fail the test if the server exits or is late.

        `/readyz` waits for full readiness; `/healthz` only for start-up to finish (for a
        server expected not to be ready, e.g. with its LLM server down).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}{path}", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                pytest.fail(self.log_tail())
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"server did not answer {path} in {timeout_s} s: {self.log_tail()}")

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (graceful drain), then SIGKILL if it does not exit in time."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_api(settings: Settings, port: int, **extra_env: str) -> ApiProcess:
    """Start `radrag serve` on a loopback port without waiting for it."""
    env = {
        **os.environ,
        "RADRAG_HOME": str(settings.home),
        "RADRAG_ASSETS": str(settings.assets_dir),
        "HF_HUB_OFFLINE": "1",
        **extra_env,
    }
    # A file, not a pipe: nobody reads a pipe while the server runs, and a full one blocks it.
    log = settings.home / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return ApiProcess(proc, f"http://127.0.0.1:{port}", log)


def serve_api(settings: Settings, port: int, **extra_env: str) -> ApiProcess:
    """Start `radrag serve` on a loopback port and wait until it is ready."""
    api = start_api(settings, port, **extra_env)
    api.wait_until("/readyz")
    return api
