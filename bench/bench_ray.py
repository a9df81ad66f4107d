"""Ray against local, side by side in one run: evaluation overhead and KB embedding rate.

1. The same IU test cases (extractive generator), end to end: the real command,
   `radrag eval run --limit N`, once with `--executor local` and once per worker count
   with `--executor ray --workers W`, each a fresh process that loads what it needs (the
   local one its embedder and KB; the Ray one nothing, its workers their own). Timed is
   the command's `eval_seconds` (its whole time up to report.html, less `ray_seconds`,
   the local cluster's start, which is printed apart); the process's wall time (plus
   interpreter start and the cluster's stop) is printed too. results.json must come out
   byte-identical.
2. Knowledge-base embedding, two ways. End to end: the real command, `radrag kb refresh`,
   into a fresh home (every passage embedded), once with `--executor local` and once with
   `--executor ray`, each a fresh process; the rate is passages embedded over the
   process's whole wall time, the Ray cluster's start included (on Ray the command loads
   no model, its actors do while it reads the sources). The two published versions must
   hold the same passages and vectors. Warm: the same texts in 256-text batches (the
   refresh's batch) by an embedder already loaded here and by Ray actors that have each
   answered a tiny first batch, so both sides' steady rate is compared: the rate a very
   large corpus runs at.

    python bench/bench_ray.py [--cases 200] [--texts 3000] [--refresh] [--workers 2] [--repeat 1]

`--cases 0` skips the evaluation, `--texts 0` the warm embedding, `--no-refresh` the
end-to-end refresh.
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

from rag.cli.kb import make_embedder
from rag.config import get_settings
from rag.kb.ray_embed import RayEmbedder
from rag.kb.refresh import BATCH
from rag.kb.store import EMBEDDINGS, PASSAGES, KBError, load_version, versions_dir

REPO = Path(__file__).resolve().parents[1]


def timed_command(cases: int, out: Path, executor: list[str]) -> dict[str, object]:
    """One `radrag eval run` in a fresh process: its summary, wall time and results.json."""
    env = _command_env()
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


def _command_env(**extra: str) -> dict[str, str]:
    """This environment for a `radrag` child: this checkout importable, a cluster of its own."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env | extra


def refresh_side_by_side(settings, workers: int, repeat: int) -> dict[str, object]:
    """`radrag kb refresh` into fresh homes, local and on Ray, interleaved; medians."""
    args = {"local": ["--executor", "local"]}
    args["ray"] = ["--executor", "ray", "--workers", str(workers)]
    walls: dict[str, list[float]] = {name: [] for name in args}
    published: dict[str, tuple[str, np.ndarray]] = {}
    embedded = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for name, extra in args.items():
                home = Path(tmp) / f"{name}-{i}"
                env = _command_env(RADRAG_HOME=str(home), RADRAG_ASSETS=str(settings.assets_dir))
                cmd = [sys.executable, "-m", "rag.cli", "kb", "refresh", "--json", *extra]
                t = time.perf_counter()
                done = subprocess.run(cmd, env=env, capture_output=True, text=True)
                walls[name].append(time.perf_counter() - t)
                if done.returncode != 0:
                    raise SystemExit(f"kb refresh {' '.join(extra)} failed: {done.stderr[-2000:]}")
                embedded = json.loads(done.stdout)["embedded"]
                kb = load_version(home / "kb")
                vecs = np.load(versions_dir(home / "kb") / kb.version / EMBEDDINGS)
                published.setdefault(name, (kb.manifest.files[PASSAGES], vecs))
    (pass_l, vec_l), (pass_r, vec_r) = published["local"], published["ray"]
    rate = {name: embedded / statistics.median(w) for name, w in walls.items()}
    return {
        "embedded": embedded,
        "process_s": {name: [round(x, 2) for x in w] for name, w in walls.items()},
        "local_texts_per_s": round(rate["local"], 1),
        "ray_texts_per_s": round(rate["ray"], 1),
        "ray_over_local": round(rate["ray"] / rate["local"], 3),
        "identical_passages": pass_l == pass_r,
        "max_abs_vector_diff": float(np.abs(vec_l - vec_r).max()),
    }


def embed_warm(settings, batches: list[list[str]], workers: int) -> dict[str, object]:
    """Steady embedding rates: a loaded local embedder against loaded Ray actors."""
    texts = sum(len(b) for b in batches)
    emb = make_embedder(settings)
    emb.embed(batches[0][:1])
    t = time.perf_counter()
    local_vecs = np.concatenate([emb.embed(b) for b in batches])
    local_warm = texts / (time.perf_counter() - t)
    with RayEmbedder(partial(make_embedder, settings), workers=workers) as ray_emb:
        # One tiny batch per actor first: the clock starts once every actor has loaded.
        warmups = ray_emb([[batches[0][0]] for _ in range(workers)])
        list(warmups)
        t = time.perf_counter()
        vecs = list(ray_emb(batches))
        ray_warm = texts / (time.perf_counter() - t)
    return {
        "texts": texts,
        "local_warm_texts_per_s": round(local_warm, 1),
        "ray_warm_texts_per_s": round(ray_warm, 1),
        "ray_over_local_warm": round(ray_warm / local_warm, 3),
        "max_abs_vector_diff": float(np.abs(local_vecs - np.concatenate(vecs)).max()),
    }


def main() -> int:
    """Print the side-by-side figures, then one JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--texts", type=int, default=3000, help="texts of the warm comparison")
    ap.add_argument("--refresh", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeat", type=int, default=1, help="interleaved runs of each (medians)")
    args = ap.parse_args()
    settings = get_settings()
    try:
        kb = load_version(settings.kb_root)
    except KBError as exc:
        print(f"no knowledge base: {exc}", file=sys.stderr)
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
    if args.refresh:
        out["refresh"] = r = refresh_side_by_side(settings, args.workers, args.repeat)
        print(
            f"kb refresh end to end, {r['embedded']} passages embedded into a fresh home: "
            f"local {r['local_texts_per_s']}/s, Ray {args.workers} workers "
            f"{r['ray_texts_per_s']}/s ({r['ray_over_local']:.2f} x; process s {r['process_s']}); "
            f"same passages: {r['identical_passages']}, "
            f"max |vector diff| {r['max_abs_vector_diff']:.2e}"
        )
    if args.texts > 0:
        texts = [p.text for p in kb.passages][: args.texts]
        batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
        out["embed_warm"] = e = embed_warm(settings, batches, args.workers)
        print(
            f"embed {e['texts']} KB texts warm (models loaded): local "
            f"{e['local_warm_texts_per_s']}/s, Ray {args.workers} workers "
            f"{e['ray_warm_texts_per_s']}/s ({e['ray_over_local_warm']:.2f} x); "
            f"max |vector diff| {e['max_abs_vector_diff']:.2e}"
        )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
