"""Checks a new version must pass before it is published (pure over arrays and indexes)."""

from __future__ import annotations

import faiss
import numpy as np

from rag.adapters.faiss_index import FaissFlatIndex
from rag.adapters.index_factory import SearchIndex
from rag.kb.store import KBError

RECALL_MIN = 0.98  # approximate indexes: recall@10 against exact search on the probe
PROBE = 256


class ValidationFailed(KBError):
    """A built version failed a check; nothing is published."""


def validate(
    index: SearchIndex, vectors: np.ndarray, n_passages: int, dim: int, seed: int = 0
) -> dict[str, float]:
    """Dimension, count, unit-norm, self-retrieval and (approximate) recall checks."""
    if vectors.shape != (n_passages, dim) or index.dim != dim or len(index) != n_passages:
        raise ValidationFailed(
            f"shape mismatch: {n_passages} passages, vectors {vectors.shape}, "
            f"index {len(index)} x {index.dim}, embedder dim {dim}"
        )
    norms = np.linalg.norm(vectors, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):
        raise ValidationFailed("embeddings are not L2-normalised (cosine = inner product)")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n_passages, size=min(PROBE, n_passages), replace=False))
    q = vectors[rows]
    scores, ids = index.search(q, 1)
    own = np.einsum("ij,ij->i", q, q)
    # Duplicated vectors tie at rank 1; any of them counts as the passage itself.
    hit = (ids[:, 0] == rows) | (scores[:, 0] >= own - 1e-4)
    self_recall = float(hit.mean())
    if self_recall < 1.0:
        miss = int(rows[~hit][0])
        raise ValidationFailed(f"recall probe: row {miss} does not retrieve itself at rank 1")
    out = {"probe": float(len(rows)), "self_recall_at_1": self_recall}
    if not isinstance(index, FaissFlatIndex):
        out["recall_at_10"] = recall_at_10(index, vectors, q)
        if out["recall_at_10"] < RECALL_MIN:
            raise ValidationFailed(
                f"recall@10 {out['recall_at_10']:.3f} of exact search is below {RECALL_MIN}"
            )
    return out


def recall_at_10(index: SearchIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    """Share of the index's top 10 that exact inner-product search also ranks top 10.

    A result scoring at least the exact 10th score counts: tied neighbours are
    interchangeable, so id-set overlap would punish a correct index for tie order.
    """
    k = min(10, len(vectors))
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    truth, _ = exact.search(queries, k)
    got, ids = index.search(queries, k)
    ok = (got >= truth[:, -1:] - 1e-5) & (ids >= 0)
    return float(ok.sum(axis=1).clip(max=k).mean() / k)


def same_embedder(fresh: np.ndarray, stored: np.ndarray) -> bool:
    """Whether re-embedded probe texts match their stored vectors (embedder identity)."""
    return bool(np.all(np.einsum("ij,ij->i", fresh, stored) >= 0.999))
