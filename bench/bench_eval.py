"""Evaluation throughput: cases/s of an eval run per generator, on IU X-ray test cases.

Each generator runs `rag.evaluation.runner.run` as `radrag eval run` does (draft, score,
re-verify, aggregate; the HTML is left out) in a fresh folder. `extractive` and
`retrieval` always run; `vllm` (guarded) and `unguarded` run on a smaller N with
--concurrency only when a vLLM server answers at RADRAG_VLLM_URL, and are reported as
skipped otherwise. Ratios are to the extractive run measured in the same invocation.

    python bench/bench_eval.py [--n 100] [--n-llm 8] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from rag.adapters.iu_xray import load_reports, read_split
from rag.adapters.registry_assets import iu_reports_dir
from rag.config import get_settings
from rag.evaluation.drafters import Drafter, EvalCase, GuardedDrafter, RetrievalBaseline
from rag.evaluation.runner import iu_cases, run
from rag.kb.sources import SPLIT_DIR
from rag.labeler import RuleLabeler
from rag.labeler.rules import _label_cached
from rag.services import Services, build_services

WARMUP = 3


def vllm_answers(url: str, timeout_s: float = 3.0) -> bool:
    """Whether an OpenAI-compatible server lists its models at `url`."""
    try:
        return httpx.get(f"{url}/v1/models", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def time_run(
    drafter: Drafter, cases: Sequence[EvalCase], warmup: Sequence[EvalCase], concurrency: int
) -> dict[str, float]:
    """Cases/s of one eval run, after an untimed warm-up on other cases."""
    labeler = RuleLabeler()
    with tempfile.TemporaryDirectory() as tmp:
        run(warmup, drafter, labeler, Path(tmp) / "warm", {"g": drafter.name}, progress=False)
        # The labeler caches sentences: start every timed run cold, so order does not matter.
        _label_cached.cache_clear()
        t = time.perf_counter()
        res = run(
            cases,
            drafter,
            labeler,
            Path(tmp) / "run",
            {"g": drafter.name},
            progress=False,
            concurrency=concurrency,
        )
        wall = time.perf_counter() - t
    return {
        "cases": len(cases),
        "concurrency": concurrency,
        "seconds": round(wall, 2),
        "cases_per_s": len(cases) / wall,
        "coverage": float(res["coverage"]),  # type: ignore[arg-type]
    }


def llm_drafters(svc: Services, url: str) -> list[Drafter]:
    """The guarded vLLM generator and the unguarded baseline, both on the server at `url`."""
    from rag.evaluation.unguarded import UnguardedLLMDrafter

    settings = svc.settings.model_copy(update={"generator": "vllm", "vllm_url": url})
    llm = build_services(settings, embedder=svc.embedder)
    unguarded = UnguardedLLMDrafter(url, settings.vllm_model, svc.kb.get(), svc.pipeline.retriever)
    return [GuardedDrafter(llm.pipeline, "vllm"), unguarded]


def main() -> int:
    """Print cases/s per generator and the ratio to extractive, then one JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="IU test cases for extractive/retrieval")
    ap.add_argument("--n-llm", type=int, default=8, help="cases for vllm/unguarded")
    ap.add_argument("--concurrency", type=int, default=4, help="for vllm/unguarded")
    args = ap.parse_args()
    settings = get_settings()
    svc = build_services(settings)
    if not svc.kb.ready:
        print(f"no knowledge base: {svc.kb.last_error}", file=sys.stderr)
        return 1
    reports = load_reports(iu_reports_dir(settings.assets_dir))
    labeler = RuleLabeler()
    cases, _ = iu_cases(reports, read_split(SPLIT_DIR, "test"), labeler)
    timed, warmup = cases[: args.n], cases[-WARMUP:]
    # Drafters are built before any clock starts (retrieval labels its train bank there).
    train = [reports[i] for i in read_split(SPLIT_DIR, "train")]
    rates: dict[str, dict[str, float]] = {}
    for drafter in (GuardedDrafter(svc.pipeline, "extractive"), RetrievalBaseline(train, labeler)):
        rates[drafter.name] = time_run(drafter, timed, warmup, concurrency=1)
    skipped = None
    if vllm_answers(settings.vllm_url):
        for drafter in llm_drafters(svc, settings.vllm_url):
            rates[drafter.name] = time_run(
                drafter, cases[: args.n_llm], warmup[:1], concurrency=args.concurrency
            )
    else:
        skipped = f"vllm, unguarded: skipped (no vLLM server answers at {settings.vllm_url})"
    base = rates["extractive"]["cases_per_s"]
    for name, r in rates.items():
        r["ratio_to_extractive"] = r["cases_per_s"] / base
        print(
            f"eval {name:10s} {r['cases']:4d} cases, concurrency {r['concurrency']}: "
            f"{r['cases_per_s']:8.2f} cases/s  ({r['ratio_to_extractive']:.3f} x extractive, "
            f"coverage {r['coverage']:.2f})"
        )
    if skipped:
        print(skipped)
    print(json.dumps({"eval_cases_per_s": rates, "skipped": skipped}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
