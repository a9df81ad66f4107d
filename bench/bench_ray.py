"""Ray against local, side by side in one run: evaluation overhead and KB embedding rate.

1. The same IU test cases (extractive generator), end to end: the real command,
   `radrag eval run --limit N`, once with `--executor local` and once per worker count
   with `--executor ray --workers W`, each a fresh process that loads what it needs (the
   local one its embedder and KB; the Ray one nothing, its workers their own). Timed is
   the command's `eval_seconds` (its whole time up to report.html, less `ray_seconds`,
   the local cluster's start, which is printed apart); the process's wall time (plus
   interpreter start and the cluster's stop) is printed too. results.json must come out
   byte-identical.
2. The same knowledge-base texts embedded in 256-text batches (the refresh's batch) by
   the local embedder and by Ray actors, two ways: cold (each side's model loads are
   timed: the local embedder's one, the actors' own) and warm (the local model already
   loaded; on Ray the clock starts once every actor has answered a tiny first batch, so
   both sides' steady throughput is compared). A refresh of a large corpus runs at the
   warm rate; the cold rate is what a small refresh sees.

    python bench/bench_ray.py [--cases 200] [--texts 3000] [--workers 2] [--repeat 1]

`--texts 0` measures the evaluation only, `--cases 0` the embedding only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from rag.adapters.ray_cluster import init_ray
from rag.cli.kb import make_embedder
from rag.config import get_settings
from rag.kb.ray_embed import RayBatchEmbedder
from rag.kb.refresh import BATCH
from rag.services import build_services

REPO = Path(__file__).resolve().parents[1]


def timed_command(cases: int, out: Path, executor: list[str]) -> dict[str, object]:
    """One `radrag eval run` in a fresh process: its summary, wall time and results.json."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a cluster of its own
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "rag.cli", "eval", "run", "--limit", str(cases)]
    t = time.perf_counter()
    done = subprocess.run(
        [*cmd, "--out", str(out), *executor], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(executor)} failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.splitlines()[-1])
    return {
        "eval_s": summary["eval_seconds"],
        "ray_s": summary.get("ray_seconds"),
        "process_s": round(wall, 2),
        "results": (out / "results.json").read_bytes(),
    }


def eval_side_by_side(cases: int, workers: list[int], repeat: int) -> dict[str, object]:
    """Local and Ray runs of the same cases, interleaved `repeat` times; medians."""
    runs: dict[str, list[dict[str, object]]] = {"local": []} | {f"ray{w}": [] for w in workers}
    args = {"local": ["--executor", "local"]}
    args |= {f"ray{w}": ["--executor", "ray", "--workers", str(w)] for w in workers}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for name, extra in args.items():
                runs[name].append(timed_command(cases, Path(tmp) / f"{name}-{i}", extra))
    local_res = runs["local"][0]["results"]
    out: dict[str, object] = {}
    for name, rs in runs.items():
        med = {k: statistics.median(float(r[k]) for r in rs) for k in ("eval_s", "process_s")}
        out[name] = {
            "eval_s": [r["eval_s"] for r in rs],
            "median_eval_s": round(med["eval_s"], 2),
            "median_process_s": round(med["process_s"], 2),
            "ray_cluster_start_s": [r["ray_s"] for r in rs] if name != "local" else None,
            "identical_results_json": all(r["results"] == local_res for r in rs),
        }
    local_s = out["local"]["median_eval_s"]  # type: ignore[index]
    for name in args:
        r = out[name]
        r["overhead_vs_local"] = round(r["median_eval_s"] / local_s - 1, 3)  # type: ignore[index]
    return out


def _ray_rates(settings, batches: list[list[str]], workers: int) -> tuple[float, float, list]:
    """(cold rate, warm rate, vectors): one tiny batch per actor goes first; the warm clock
    starts when all of them have come back (every actor loaded), the cold one at the call."""
    texts = sum(len(b) for b in batches)
    warmups: list[list[str]] = [[batches[0][0]] for _ in range(workers)]
    embed = RayBatchEmbedder(partial(make_embedder, settings), workers=workers)
    start = time.perf_counter()
    out = embed(warmups + batches)
    for _ in warmups:
        next(out)
    warm_start = time.perf_counter()
    vecs = list(out)
    end = time.perf_counter()
    return texts / (end - start), texts / (end - warm_start), vecs


def embed_side_by_side(settings, batches: list[list[str]], workers: int) -> dict[str, object]:
    """Local and Ray embedding of the same batches, cold and warm (see the docstring)."""
    texts = sum(len(b) for b in batches)
    t = time.perf_counter()
    emb = make_embedder(settings)
    local_vecs = np.concatenate([emb.embed(b) for b in batches])
    local_cold = texts / (time.perf_counter() - t)
    t = time.perf_counter()
    np.concatenate([emb.embed(b) for b in batches])
    local_warm = texts / (time.perf_counter() - t)
    ray_cold, ray_warm, vecs = _ray_rates(settings, batches, workers)
    return {
        "texts": texts,
        "local_cold_texts_per_s": round(local_cold, 1),
        "local_warm_texts_per_s": round(local_warm, 1),
        "ray_cold_texts_per_s": round(ray_cold, 1),
        "ray_warm_texts_per_s": round(ray_warm, 1),
        "ray_over_local_cold": round(ray_cold / local_cold, 3),
        "ray_over_local_warm": round(ray_warm / local_warm, 3),
        "max_abs_vector_diff": float(np.abs(local_vecs - np.concatenate(vecs)).max()),
    }


def main() -> int:
    """Print the side-by-side figures, then one JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--texts", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeat", type=int, default=1, help="interleaved runs of each (medians)")
    args = ap.parse_args()
    settings = get_settings()
    svc = build_services(settings)
    if not svc.kb.ready:
        print(f"no knowledge base: {svc.kb.last_error}", file=sys.stderr)
        return 1
    out: dict[str, object] = {"cases": args.cases}
    ev = eval_side_by_side(args.cases, sorted({1, args.workers}), args.repeat) if args.cases else {}
    out["eval"] = ev
    if ev:
        loc = ev["local"]
        print(
            f"eval {args.cases} cases extractive, `radrag eval run` end to end: local "
            f"{loc['median_eval_s']:.1f} s (process {loc['median_process_s']:.1f} s)"
        )
    for name, r in ev.items():
        if name == "local":
            continue
        print(
            f"  Ray {name[3:]} worker(s): {r['median_eval_s']:.1f} s "
            f"({r['overhead_vs_local']:+.1%} vs local; process {r['median_process_s']:.1f} s; "
            f"cluster start apart: {r['ray_cluster_start_s']} s); "
            f"results.json identical: {r['identical_results_json']}"
        )
    if args.texts <= 0:  # --texts 0: the evaluation only
        print(json.dumps(out))
        return 0
    t = time.perf_counter()
    init_ray(num_cpus=args.workers)  # embedding below joins it: its start is not counted
    out["ray_cluster_start_s"] = round(time.perf_counter() - t, 2)
    texts = [p.text for p in svc.kb.get().passages][: args.texts]
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    out["embed"] = embed_side_by_side(settings, batches, args.workers)
    e = out["embed"]
    print(
        f"embed {e['texts']} KB texts: cold (model loads timed) local "
        f"{e['local_cold_texts_per_s']}/s, Ray {args.workers} workers "
        f"{e['ray_cold_texts_per_s']}/s ({e['ray_over_local_cold']:.2f} x); warm local "
        f"{e['local_warm_texts_per_s']}/s, Ray {e['ray_warm_texts_per_s']}/s "
        f"({e['ray_over_local_warm']:.2f} x); max |vector diff| {e['max_abs_vector_diff']:.2e}"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
