"""Ray against local, side by side in one run: evaluation overhead and KB embedding rate.

1. The same IU test cases (extractive generator) through `rag.evaluation.runner.run` with
   the local executor and with the Ray executor on a local cluster started here (head
   plus worker processes). The Ray wall time counts the workers' start (each loads the
   embedder and the KB), not the cluster's start, which is printed apart. results.json
   must come out byte-identical.
2. The same knowledge-base texts embedded in 256-text batches (the refresh's batch) by
   the local embedder and by Ray actors, each loading its own model (counted).

    python bench/bench_ray.py [--cases 200] [--texts 3000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from rag.adapters.iu_xray import load_reports, read_split
from rag.adapters.ray_cluster import init_ray
from rag.adapters.registry_assets import iu_reports_dir
from rag.cli.eval import GeneratorChoice, worker_scorer
from rag.cli.kb import make_embedder
from rag.config import get_settings
from rag.evaluation.drafters import GuardedDrafter
from rag.evaluation.executors import RayExecutor
from rag.evaluation.runner import iu_cases, run
from rag.kb.ray_embed import RayBatchEmbedder
from rag.kb.refresh import BATCH
from rag.kb.sources import SPLIT_DIR
from rag.labeler import RuleLabeler
from rag.labeler.rules import _label_cached
from rag.services import build_services


class FirstRecord:
    """Wraps an executor; notes when its first record arrives (workers started by then)."""

    def __init__(self, inner) -> None:
        self.inner, self.first_at = inner, None

    def map(self, cases):
        """The inner executor's records, timing the first."""
        for rec in self.inner.map(cases):
            self.first_at = self.first_at or time.perf_counter()
            yield rec


def timed_eval(cases, drafter, out: Path, executor=None) -> tuple[float, float, bytes]:
    """Wall seconds of one eval run (labeler cache cold), seconds to its first record,
    and its results.json."""
    _label_cached.cache_clear()
    t = time.perf_counter()
    wrapped = None if executor is None else FirstRecord(executor)
    run(cases, drafter, RuleLabeler(), out, {"g": "extractive"}, False, executor=wrapped)
    first = (wrapped.first_at or t) - t if wrapped else 0.0
    return time.perf_counter() - t, first, (out / "results.json").read_bytes()


def main() -> int:
    """Print the side-by-side figures, then one JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--texts", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    settings = get_settings()
    svc = build_services(settings)
    if not svc.kb.ready:
        print(f"no knowledge base: {svc.kb.last_error}", file=sys.stderr)
        return 1
    reports = load_reports(iu_reports_dir(settings.assets_dir))
    cases, _ = iu_cases(reports, read_split(SPLIT_DIR, "test"), RuleLabeler(), args.cases)
    drafter = GuardedDrafter(svc.pipeline, "extractive")
    out: dict[str, object] = {"cases": len(cases), "workers": args.workers}
    t = time.perf_counter()
    init_ray(num_cpus=args.workers)
    out["ray_cluster_start_s"] = round(time.perf_counter() - t, 2)
    factory = partial(worker_scorer, settings, GeneratorChoice.extractive, None)
    with tempfile.TemporaryDirectory() as tmp:
        timed_eval(cases[:3], drafter, Path(tmp) / "warm")  # untimed: first-call costs
        local_s, _, local_res = timed_eval(cases, drafter, Path(tmp) / "local")
        ray_runs = {}
        for w in sorted({1, args.workers}):
            ray = RayExecutor(factory, workers=w)
            s, first, res = timed_eval(cases, drafter, Path(tmp) / f"ray{w}", ray)
            ray_runs[w] = {
                "seconds": round(s, 2),
                # Until the first record: the workers' start (model and KB loads), one case.
                "first_record_s": round(first, 2),
                "identical_results_json": res == local_res,
            }
    out["eval_local_s"] = round(local_s, 2)
    out["eval_ray"] = ray_runs
    for w, r in ray_runs.items():
        r["overhead_vs_local"] = round(r["seconds"] / local_s - 1, 3)
        print(
            f"eval {len(cases)} cases extractive: local {local_s:.1f} s, Ray {w} worker(s) "
            f"{r['seconds']:.1f} s ({r['overhead_vs_local']:+.1%}; first record after "
            f"{r['first_record_s']:.1f} s); results.json identical: {r['identical_results_json']}"
        )
    print(f"Ray local cluster start (not counted above): {out['ray_cluster_start_s']} s")
    texts = [p.text for p in svc.kb.get().passages][: args.texts]
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    emb = make_embedder(settings)
    emb.embed(batches[0][:8])  # untimed warm-up of the local model
    t = time.perf_counter()
    local_vecs = np.concatenate([emb.embed(b) for b in batches])
    local_rate = len(texts) / (time.perf_counter() - t)
    t = time.perf_counter()
    ray_vecs = np.concatenate(
        list(RayBatchEmbedder(partial(make_embedder, settings), workers=args.workers)(batches))
    )
    ray_rate = len(texts) / (time.perf_counter() - t)
    out["embed"] = {
        "texts": len(texts),
        "local_texts_per_s": round(local_rate, 1),
        "ray_texts_per_s": round(ray_rate, 1),
        "ray_over_local": round(ray_rate / local_rate, 3),
        "max_abs_vector_diff": float(np.abs(local_vecs - ray_vecs).max()),
    }
    e = out["embed"]
    print(
        f"embed {len(texts)} KB texts: local {local_rate:.0f}/s, Ray {args.workers} workers "
        f"{ray_rate:.0f}/s ({e['ray_over_local']:.2f} x local, model loads included); "
        f"max |vector diff| {e['max_abs_vector_diff']:.2e}"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
