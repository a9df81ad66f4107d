"""FaissHNSWIndex: approximate search close to exact, restrictions exact in both paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.adapters.faiss_hnsw import FaissHNSWIndex
from rag.adapters.index_factory import build_index, load_index
from rag.kb.validate import recall_at_10

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6000, 32)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def hnsw(vectors: np.ndarray) -> FaissHNSWIndex:
    index = build_index(vectors, exact_max=100)
    assert isinstance(index, FaissHNSWIndex)  # above the threshold: approximate
    return index


def test_size_picks_the_index_and_files_round_trip(
    vectors: np.ndarray, hnsw: FaissHNSWIndex, tmp_path: Path
) -> None:
    assert build_index(vectors[:100], exact_max=100).kind == "flat-ip"
    assert recall_at_10(hnsw, vectors, vectors[:200]) >= 0.98
    hnsw.save(tmp_path / "i.faiss")
    again = load_index(tmp_path / "i.faiss", "hnsw-ip", {"efSearch": 64})
    assert len(again) == 6000 and again.ef_search == 64
    with pytest.raises(ValueError, match="unknown index kind"):
        load_index(tmp_path / "i.faiss", "ivf?")


@pytest.mark.parametrize("size", [50, 5000])  # exact subset path, filtered HNSW path
def test_restricted_search_stays_inside_the_rows(
    vectors: np.ndarray, hnsw: FaissHNSWIndex, size: int
) -> None:
    index = hnsw
    rows = np.random.default_rng(size).choice(len(vectors), size=size, replace=False)
    restrict = index.restriction(rows)
    scores, ids = index.search(vectors[:20], 10, restrict=restrict)
    assert set(ids.ravel()) <= set(rows.tolist())
    best = (vectors[:20] @ vectors[rows].T).max(axis=1)
    assert np.allclose(scores[:, 0], best, atol=1e-5)  # the true best row is found first
