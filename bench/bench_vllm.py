"""vLLM benchmark: drafts/min and tokens/s through the service vs. straight to vLLM.

Needs the vLLM server (`make vllm`) and the default knowledge base (`make kb`); `make
bench` does both. The service runs in this process behind a real uvicorn HTTP server on
loopback and is driven with POST /v1/reports; the direct runs send the very same
chat-completions bodies (same prompts, same schemas) to vLLM. Generated tokens are read
from vLLM's own counter (/metrics), so both sides are counted the same way.

    python bench/bench_vllm.py [--levels 1 8] [--per-level 8]
    python bench/bench_vllm.py --latency 6   # where a guarded draft's time goes (one at a time)
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from bench_foundation import random_labels  # same label-set generator as the foundation bench
from inprocess import serve
from vllm_latency import measure_one, summarize

from rag.adapters.vllm_generator import VLLMGenerator
from rag.api.app import create_app
from rag.config import get_settings
from rag.domain import LabelSet
from rag.prompts import load_prompt, render_draft_messages
from rag.services import build_services
from rag.stages.draft_schema import draft_schema, prompt_passages

_TOKENS = re.compile(r"^vllm:generation_tokens_total(?:\{[^}]*\})? ([0-9.e+]+)$", re.M)


def generated_tokens(vllm_url: str) -> float:
    """vLLM's running total of generated tokens."""
    text = httpx.get(f"{vllm_url}/metrics", timeout=10).text
    return sum(float(x) for x in _TOKENS.findall(text))


def run_level(send, items: list, concurrency: int, vllm_url: str) -> dict[str, float]:
    """Send all items at a concurrency level; throughput from wall time and vLLM's counter."""
    tok0, t0 = generated_tokens(vllm_url), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(pool.map(send, items))
    wall = time.perf_counter() - t0
    tokens = generated_tokens(vllm_url) - tok0
    return {
        "requests": len(items),
        "ok": sum(outcomes),
        "seconds": round(wall, 1),
        "drafts_per_min": round(len(items) / wall * 60, 2),
        "tokens_per_s": round(tokens / wall, 1),
    }


def main() -> None:
    """Run the comparison and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 8])
    ap.add_argument(
        "--per-level", type=int, nargs="+", default=[4, 8], help="requests per level and side"
    )
    ap.add_argument("--max-findings", type=int, default=14, help="assessed findings per study")
    ap.add_argument(
        "--latency",
        type=int,
        default=0,
        metavar="N",
        help="instead: guarded vs unconstrained latency of N label sets, one request at a time",
    )
    ap.add_argument("--prompts", nargs="+", default=["v2", "v3"], help="with --latency")
    ap.add_argument(
        "--no-cold", action="store_true", help="with --latency: skip the first-use request"
    )
    ap.add_argument("--dump-schemas", metavar="JSON", help="with --latency: write the schemas")
    args = ap.parse_args()
    # Auth off (the server below listens on loopback only): the bench measures drafting.
    settings = get_settings().model_copy(update={"generator": "vllm", "auth": "disabled"})
    svc = build_services(settings)
    gen = svc.pipeline.generator
    rng = random.Random(11)
    labels: list[LabelSet] = []
    while len(labels) < max(*args.per_level, args.latency):
        ls = random_labels(rng)
        # Keep the first few findings: on a CPU the prompt (passages per finding) and the
        # output (one sentence per finding) grow with the label set.
        keep = dict(list(ls.as_states().items())[: args.max_findings])
        labels.append(LabelSet.from_states(keep))
    kb = svc.kb.get()

    def request_bodies(g: VLLMGenerator, sets: list[LabelSet]) -> list[dict]:
        """The exact bodies the service sends, built with the service's own retrieval."""
        out = []
        for ls in sets:
            evidence = svc.pipeline.retriever.retrieve(kb, ls)
            if g.prompt.version == "v1":
                shown = prompt_passages(ls, evidence)
                msgs = render_draft_messages(g.prompt, ls, shown, None, None)
                out.append(g.request_body(msgs, draft_schema(ls, shown)))
            else:
                out.append(g.slot_request(ls, evidence, None, None)[0])
        return out

    bodies = request_bodies(gen, labels)

    if args.latency:
        # Every prompt version on the same label sets, one after the other in this run.
        llm = httpx.Client(base_url=settings.vllm_url, timeout=900)
        out = {"model": settings.vllm_model}
        per_version = {}
        for version in args.prompts:
            v = VLLMGenerator(
                settings.vllm_url, settings.vllm_model, load_prompt("draft_report", version)
            )
            per_version[version] = request_bodies(v, labels[: args.latency])
        if args.dump_schemas:
            with open(args.dump_schemas, "w") as fh:
                schemas = {
                    v: [b["structured_outputs"]["json"] for b in bs]
                    for v, bs in per_version.items()
                }
                json.dump(schemas, fh)
            return
        # Interleaved (each label set through every version in turn), so that load from
        # other clients of a shared server falls on all versions alike.
        rows: dict[str, list[dict]] = {v: [] for v in per_version}
        for i in range(args.latency):
            for version, bs in per_version.items():
                rows[version].append(measure_one(llm, bs[i], cold=not args.no_cold))
                print(version, json.dumps(rows[version][-1]), file=sys.stderr, flush=True)
        for version, rs in rows.items():
            out[f"draft_report/{version}"] = summarize(rs)
        print(json.dumps(out, indent=2))
        return
    base, server = serve(create_app(services=svc))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    api = httpx.Client(base_url=base, timeout=900, limits=limits)
    llm = httpx.Client(base_url=settings.vllm_url, timeout=900, limits=limits)
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def tally(key: str) -> None:
        with lock:
            statuses[key] = statuses.get(key, 0) + 1

    def via_service(ls: LabelSet) -> bool:
        r = api.post("/v1/reports", json={"labels": ls.as_states()})
        if r.status_code != 200:
            tally(f"http_{r.status_code}")
            return False
        body = r.json()
        # Quality on the side: how many LLM sentences the verifier let through, and why not.
        tally(body["status"])
        for v in body["verdicts"]:
            tally(f"sentence_{v['verdict']}")
        for reason in (body["abstention"] or {}).get("reasons", []):
            tally(f"reason_{reason['code']}")
        return True

    def direct(body: dict) -> bool:
        return llm.post("/v1/chat/completions", json=body).status_code == 200

    # Warm-up: vLLM compiles (and caches) one grammar per distinct schema; doing that for
    # every body first means neither side is charged for it, whichever runs first.
    t = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(direct, bodies))
    warmup_s = time.perf_counter() - t
    via_service(labels[0])
    out: dict[str, object] = {
        "model": settings.vllm_model,
        "vllm_url": settings.vllm_url,
        "warmup_with_grammar_compile_s": round(warmup_s, 1),
    }
    for c, n in zip(args.levels, args.per_level, strict=True):
        d = run_level(direct, bodies[:n], c, settings.vllm_url)
        s = run_level(via_service, labels[:n], c, settings.vllm_url)
        if d["ok"] < n or s["ok"] < n:
            # A ratio over failed requests measures nothing: say so and stop.
            server.should_exit = True
            raise SystemExit(f"concurrency {c}: requests failed: {sorted(statuses.items())}")
        out[f"concurrency_{c}"] = {
            "direct": d,
            "service": s,
            "service_over_direct_drafts": round(s["drafts_per_min"] / d["drafts_per_min"], 3),
            "service_over_direct_tokens": round(s["tokens_per_s"] / d["tokens_per_s"], 3),
        }
    out["service_outcomes"] = dict(sorted(statuses.items()))
    server.should_exit = True
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
