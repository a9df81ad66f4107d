"""Soak test: a real server on loopback under bounded concurrent load (`make soak`).

Starts `radrag serve` on a free 127.0.0.1 port (auth disabled: loopback only), drives
POST /v1/reports at concurrency 1, 8 and 32 for a bounded time each, and reports
throughput, latency percentiles, errors, abstentions by reason and the server's resident
memory. `--generator vllm` soaks the LLM path against the server `make vllm` started
(RADRAG_VLLM_URL / RADRAG_VLLM_MODEL as usual); a request that outlives the LLM timeout
is an explicit abstention, counted apart from errors (non-200 answers or no answer).

    python bench/soak.py [--seconds 20] [--levels 1,8,32] [--generator extractive|vllm]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time

import httpx

FINDINGS = [
    "cardiomegaly",
    "edema",
    "pleural_effusion",
    "pneumothorax",
    "consolidation",
    "atelectasis",
    "lung_opacity",
    "pneumonia",
    "fracture",
    "support_devices",
]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def body(rng: random.Random, max_findings: int) -> dict:
    """A random label set."""
    chosen = rng.sample(FINDINGS, rng.randint(2, max_findings))
    return {
        "labels": {f: rng.choice(["present", "absent", "absent", "uncertain"]) for f in chosen},
        "indication": "Shortness of breath.",
    }


async def load(
    base: str, concurrency: int, seconds: float, max_findings: int, timeout_s: float
) -> dict[str, object]:
    """Run `concurrency` workers for `seconds`; return throughput and latency figures."""
    lat: list[float] = []
    errors = 0
    abstained: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=base, timeout=timeout_s, limits=limits) as client:
            while time.monotonic() < deadline:
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/reports", json=body(rng, max_findings))
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok and r.json()["status"] == "abstained":
                    for reason in r.json()["abstention"]["reasons"]:
                        abstained[reason["code"]] = abstained.get(reason["code"], 0) + 1
                lat.append((time.perf_counter() - t) * 1000)
                errors += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    wall = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0]] * 99
    return {
        "requests": len(lat),
        "rps": len(lat) / wall,
        "p50_ms": q[49],
        "p95_ms": q[94],
        "p99_ms": q[98],
        "errors": errors,
        "abstained": dict(sorted(abstained.items())),
    }


def main() -> int:
    """Start the server, soak it, print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--generator", choices=["extractive", "vllm"], default="extractive")
    ap.add_argument("--max-findings", type=int, default=len(FINDINGS), help="per label set")
    args = ap.parse_args()
    # An LLM draft takes seconds to minutes on a CPU; the client waits longer than the
    # service's own LLM timeout so every answer, abstention included, is seen.
    timeout_s = 30.0 if args.generator == "extractive" else 900.0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "RADRAG_AUTH": "disabled",
        "RADRAG_MAX_INFLIGHT": "64",
        "RADRAG_GENERATOR": args.generator,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            print("server did not become ready", file=sys.stderr)
            return 1
        asyncio.run(load(base, 4, 3.0, args.max_findings, timeout_s))  # warm-up
        start = rss_mb(proc.pid)
        total_errors = 0
        for c in (int(x) for x in args.levels.split(",")):
            r = asyncio.run(load(base, c, args.seconds, args.max_findings, timeout_s))
            total_errors += int(r["errors"])
            print(
                f"concurrency {c:3d}: {r['requests']:6d} requests, {r['rps']:7.1f} req/s, "
                f"p50 {r['p50_ms']:6.1f} ms, p95 {r['p95_ms']:6.1f} ms, "
                f"p99 {r['p99_ms']:6.1f} ms, errors {r['errors']}, abstained {r['abstained']}"
            )
        end = rss_mb(proc.pid)
        growth = (end - start) / start
        print(
            f"server RSS after warm-up {start:.0f} MB, at end {end:.0f} MB "
            f"({growth:+.1%}; target <= +10%), errors {total_errors} (target 0)"
        )
        return 0 if total_errors == 0 and growth <= 0.10 else 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
