"""Foundation benchmark: drafting latency (no LLM) and KB embedding throughput.

Run with `make bench` (it builds the default knowledge base first). Figures are measured
in this run on this machine; the embedding ratio compares the KB build's embedder with
raw sentence-transformers `encode` on the same texts, in the same process.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

from rag.config import get_settings
from rag.domain import DraftRequest, Finding, LabelSet, State
from rag.kb.build import embed_text
from rag.services import build_services

N_REQUESTS = 200
N_TEXTS = 2000


def random_labels(rng: random.Random) -> LabelSet:
    """A plausible label set: a few positives or uncertains, the rest of a subset absent."""
    pool = [f for f in Finding if f is not Finding.no_finding]
    chosen = rng.sample(pool, rng.randint(3, len(pool)))
    states = {}
    for f in chosen:
        r = rng.random()
        states[f] = State.present if r < 0.2 else State.uncertain if r < 0.3 else State.absent
    return LabelSet.from_states(states)


def pct(xs: list[float], q: float) -> float:
    """q-th percentile (nearest rank)."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def bench_drafting(svc) -> dict[str, float]:
    """Latency of retrieval + extractive drafting + verification per request."""
    rng = random.Random(7)
    requests = [DraftRequest(labels=random_labels(rng)) for _ in range(N_REQUESTS)]
    for r in requests[:10]:  # warm-up: model, caches
        svc.pipeline.draft(r)
    times, drafted = [], 0
    for r in requests:
        t = time.perf_counter()
        out = svc.pipeline.draft(r)
        times.append((time.perf_counter() - t) * 1000)
        drafted += out.status == "drafted"
    return {
        "requests": N_REQUESTS,
        "drafted": drafted,
        "p50_ms": statistics.median(times),
        "p95_ms": pct(times, 95),
        "max_ms": max(times),
    }


def bench_embedding(svc) -> dict[str, float]:
    """Throughput of the KB-build embedder vs raw sentence-transformers encode."""
    kb = svc.kb.get()
    texts = [embed_text(p) for p in kb.passages[:N_TEXTS]]
    emb = svc.embedder
    raw_model = emb._model  # the same loaded model, called directly
    best_ours, best_raw = float("inf"), float("inf")
    for _ in range(2):  # alternate to spread machine noise over both
        t = time.perf_counter()
        emb.embed(texts)
        best_ours = min(best_ours, time.perf_counter() - t)
        t = time.perf_counter()
        raw_model.encode(texts, batch_size=emb.batch_size, show_progress_bar=False)
        best_raw = min(best_raw, time.perf_counter() - t)
    ours, raw = len(texts) / best_ours, len(texts) / best_raw
    return {
        "texts": len(texts),
        "kb_build_texts_per_s": ours,
        "raw_encode_texts_per_s": raw,
        "ratio": ours / raw,
    }


def main() -> int:
    """Run both benchmarks and print figures against their targets."""
    svc = build_services(get_settings())
    if not svc.kb.ready:
        print(f"no knowledge base: {svc.kb.last_error}", file=sys.stderr)
        return 1
    d = bench_drafting(svc)
    e = bench_embedding(svc)
    print(f"kb {svc.kb.get().version}: {len(svc.kb.get().passages)} passages")
    print(
        f"drafting (retrieve+generate+verify, no LLM), {d['requests']} requests: "
        f"p50 {d['p50_ms']:.1f} ms, p95 {d['p95_ms']:.1f} ms, max {d['max_ms']:.1f} ms, "
        f"drafted {d['drafted']}  [target p95 <= 50 ms: "
        f"{'met' if d['p95_ms'] <= 50 else 'NOT met'}]"
    )
    print(
        f"embedding {e['texts']} texts: kb build {e['kb_build_texts_per_s']:.0f}/s vs raw "
        f"encode {e['raw_encode_texts_per_s']:.0f}/s, ratio {e['ratio']:.3f}  "
        f"[target >= 0.9: {'met' if e['ratio'] >= 0.9 else 'NOT met'}]"
    )
    print(json.dumps({"drafting": d, "embedding": e}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
