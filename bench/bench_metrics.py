"""Metrics overhead: label-set drafting p95 through the API with metrics on vs off.

Two apps over the same knowledge base, embedder and extractive generator, one with
RADRAG_METRICS on (middleware, per-draft counters, generator timing) and one with it off.
Requests alternate between them (the order flips every pair), so machine noise lands on both;
the figure is the ratio of the two p95s measured in this run. Target: within 5% (ratio <= 1.05).
Run with `make bench` or `.venv/bin/python bench/bench_metrics.py [--requests N]`.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import random
import statistics
import time

from fastapi.testclient import TestClient

from rag.api.app import create_app
from rag.config import get_settings
from rag.domain import Finding, State
from rag.services import Services, build_services


def label_body(rng: random.Random) -> dict:
    """A plausible label set as the HTTP body (same mix as bench_foundation)."""
    pool = [f for f in Finding if f is not Finding.no_finding]
    labels = {}
    for f in rng.sample(pool, rng.randint(3, len(pool))):
        r = rng.random()
        labels[f.value] = (
            State.present if r < 0.2 else State.uncertain if r < 0.3 else State.absent
        ).value
    return {"labels": labels}


def pct(xs: list[float], q: float) -> float:
    """q-th percentile (nearest rank)."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def app_with(svc: Services, metrics: bool) -> TestClient:
    """An in-process client of an app with metrics on or off (own pipeline copy each)."""
    cfg = svc.settings.model_copy(update={"metrics": metrics, "auth": "disabled"})
    own = dataclasses.replace(svc, settings=cfg, pipeline=copy.copy(svc.pipeline))
    return TestClient(create_app(services=own))


def main() -> int:
    """Alternate drafting requests between the two apps; print p50/p95 and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300, help="requests per app")
    args = ap.parse_args()
    svc = build_services(get_settings())
    rng = random.Random(11)
    bodies = [label_body(rng) for _ in range(args.requests)]
    times: dict[str, list[float]] = {"on": [], "off": []}
    with app_with(svc, True) as on, app_with(svc, False) as off:
        clients = {"on": on, "off": off}
        for body in bodies[:10]:  # warm-up: model, caches, first-request imports
            for c in clients.values():
                c.post("/v1/reports", json=body)
        for i, body in enumerate(bodies):
            order = ("on", "off") if i % 2 == 0 else ("off", "on")
            for name in order:
                t = time.perf_counter()
                r = clients[name].post("/v1/reports", json=body)
                times[name].append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
        scraped = on.get("/metrics").text
    assert "radrag_drafts_total" in scraped
    out = {
        name: {"p50_ms": statistics.median(ts), "p95_ms": pct(ts, 95), "requests": len(ts)}
        for name, ts in times.items()
    }
    out["p95_ratio_on_over_off"] = out["on"]["p95_ms"] / out["off"]["p95_ms"]
    out["p50_ratio_on_over_off"] = out["on"]["p50_ms"] / out["off"]["p50_ms"]
    print(json.dumps({"bench": "metrics_overhead", **out}, indent=2))
    ok = out["p95_ratio_on_over_off"] <= 1.05
    print(
        f"metrics on/off p95 ratio {out['p95_ratio_on_over_off']:.3f} (target <= 1.05): "
        f"{'ok' if ok else 'OVER TARGET'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
