"""Knowledge-base benchmark: full vs incremental refresh, query latency and recall, memory.

Run with `make bench` or `python bench/bench_kb.py [--synthetic-n N] [--dim D]`. Every
figure is measured in this run on this machine; ratios compare against baselines from
the same run (incremental vs full refresh; approximate vs exact search).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from rag.adapters.faiss_hnsw import FaissHNSWIndex
from rag.adapters.st_embedder import SentenceTransformerEmbedder
from rag.config import get_settings
from rag.domain import Finding, State
from rag.kb.refresh import refresh
from rag.kb.sources import load_passages, read_sources
from rag.kb.store import load_version
from rag.stages.retrieve import finding_query


def pct(xs: list[float], q: float) -> float:
    """q-th percentile (nearest rank)."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def rss_mb() -> float:
    """Current resident memory of this process, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def index_mib(index: faiss.Index) -> float:
    """Size of the serialised index, a close proxy of its in-memory footprint."""
    return faiss.serialize_index(index).nbytes / 2**20


def timed_queries(search, queries: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    """Per-query latency (ms) of single-query searches, and the result ids."""
    times, ids = [], []
    for q in queries:
        t = time.perf_counter()
        _, i = search(q[None, :], k)
        times.append((time.perf_counter() - t) * 1000)
        ids.append(i[0])
    return times, np.stack(ids)


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    """Mean share of exact top-k ids the index also returned."""
    k = truth.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(truth, got, strict=True)]))


def bench_refresh(root: Path) -> dict[str, object]:
    """Full refresh of the default sources, then an incremental one after editing 1%."""
    s = get_settings()
    t = time.perf_counter()
    passages, sources = load_passages(read_sources(), s.assets_dir)
    load_s = time.perf_counter() - t
    emb = SentenceTransformerEmbedder(s.embedder, s.embed_batch_size)
    emb.embed(["warm-up"])
    t = time.perf_counter()
    full, _ = refresh(root, lambda: (passages, sources), emb, full=True)
    full_s = time.perf_counter() - t
    rng = np.random.default_rng(1)
    edit = set(rng.choice(len(passages), size=max(1, len(passages) // 100), replace=False))
    edited = [
        p.model_copy(update={"id": p.id + "-r", "text": p.text.rstrip(".") + " (revised)."})
        if i in edit
        else p
        for i, p in enumerate(passages)
    ]
    t = time.perf_counter()
    inc, _ = refresh(root, lambda: (edited, sources), emb)
    inc_s = time.perf_counter() - t
    return {
        "passages": len(passages),
        "source_load_s": round(load_s, 2),
        "full_s": round(full_s, 2),
        "full_steps_s": full.seconds,
        "incremental_s": round(inc_s, 2),
        "incremental_steps_s": inc.seconds,
        "incremental_changes": {"changed": inc.changed, "embedded": inc.embedded},
        "incremental_over_full": round(inc_s / full_s, 4),
        "with_source_load": round((inc_s + load_s) / (full_s + load_s), 4),
    }


def bench_default_queries(root: Path) -> dict[str, object]:
    """Latency and recall@10 of the default (published) index against exact search."""
    s = get_settings()
    before = rss_mb()
    kb = load_version(root)
    loaded = rss_mb() - before
    emb = SentenceTransformerEmbedder(s.embedder, s.embed_batch_size)
    texts = [finding_query(f, st) for f in Finding for st in State]
    texts += [p.text for p in kb.passages[:: max(1, len(kb.passages) // 300)]]
    queries = emb.embed(texts)
    vectors = np.load(root / "versions" / kb.version / "embeddings.npy")
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    times, got = timed_queries(kb.index.search, queries)
    return {
        "index": kb.manifest.index_kind,
        "vectors": len(kb.passages),
        "queries": len(queries),
        "p50_ms": round(statistics.median(times), 4),
        "p95_ms": round(pct(times, 95), 4),
        "recall_at_10_vs_exact": round(recall(truth, got), 4),
        "rss_increase_on_load_mib": round(loaded, 1),
        "index_mib": round(index_mib(kb.index._index), 1),
    }


def synthetic(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Clustered unit vectors (embeddings are clustered, not uniform on the sphere)."""
    centres = rng.standard_normal((max(n // 100, 10), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, len(centres), n)]
    x += 0.1 * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def bench_synthetic(n: int, dim: int, n_queries: int = 1000) -> dict[str, object]:
    """HNSW at n vectors: build time, memory, and recall@10 / latency per efSearch."""
    rng = np.random.default_rng(0)
    data = synthetic(n + n_queries, dim, rng)
    base, queries = data[:n], data[n:]
    before = rss_mb()
    t = time.perf_counter()
    index = FaissHNSWIndex.build(base)
    build_s = time.perf_counter() - t
    grown = rss_mb() - before
    exact = faiss.IndexFlatIP(dim)
    exact.add(base)
    _, truth = exact.search(queries, 10)
    faiss.omp_set_num_threads(1)  # single-threaded latency, as the target states
    exact_times, _ = timed_queries(exact.search, queries[:100])
    rows = []
    for ef in (16, 32, 64, 128, 256):
        index.ef_search = ef
        times, got = timed_queries(index.search, queries)
        rows.append(
            {
                "efSearch": ef,
                "recall_at_10": round(recall(truth, got), 4),
                "p50_ms": round(statistics.median(times), 4),
                "p95_ms": round(pct(times, 95), 4),
            }
        )
    faiss.omp_set_num_threads(0)
    meets = [r for r in rows if r["recall_at_10"] >= 0.98 and r["p95_ms"] <= 5.0]
    return {
        "vectors": n,
        "dim": dim,
        "build_s": round(build_s, 1),
        "rss_increase_on_build_mib": round(grown, 1),
        "index_mib": round(index_mib(index._index), 1),
        "exact_p50_ms": round(statistics.median(exact_times), 3),
        "per_efSearch": rows,
        "target_met_at_efSearch": meets[0]["efSearch"] if meets else None,
    }


def main() -> int:
    """Run all parts and print one JSON document."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--synthetic-n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=64)
    args = ap.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kb"
        out["refresh"] = bench_refresh(root)
        print(json.dumps(out, indent=2), file=sys.stderr)
        out["default_index"] = bench_default_queries(root)
        print(json.dumps(out["default_index"], indent=2), file=sys.stderr)
    out["synthetic"] = bench_synthetic(args.synthetic_n, args.dim)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
