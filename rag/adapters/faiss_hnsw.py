"""FaissHNSWIndex: approximate cosine search (HNSW graph over L2-normalised rows)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np


@dataclass(frozen=True)
class _Subset:
    """A small restriction searched exactly: HNSW with a selective filter loses recall."""

    index: faiss.Index
    rows: np.ndarray


class FaissHNSWIndex:
    """Approximate inner-product search; restricted searches stay correct for any subset."""

    kind = "hnsw-ip"

    def __init__(self, index: faiss.IndexHNSWFlat, ef_search: int = 128) -> None:
        self._index = index
        self.ef_search = ef_search
        # Below this many rows a restriction is searched exactly over its own vectors.
        self.subset_exact_max = 4096

    @classmethod
    def build(
        cls, vectors: np.ndarray, m: int = 32, ef_construction: int = 80, ef_search: int = 128
    ) -> FaissHNSWIndex:
        """Index (n, dim) float32 unit vectors; row i gets id i."""
        if vectors.ndim != 2 or vectors.dtype != np.float32:
            raise ValueError("vectors must be a 2-D float32 array")
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(vectors)
        return cls(index, ef_search)

    @classmethod
    def load(cls, path: Path, ef_search: int = 128) -> FaissHNSWIndex:
        """Read an index file written by save()."""
        return cls(faiss.read_index(str(path)), ef_search)

    def save(self, path: Path) -> None:
        """Write the index to a file."""
        faiss.write_index(self._index, str(path))

    @property
    def params(self) -> dict[str, int]:
        """Build and search parameters, for the manifest."""
        return {"M": int(self._index.hnsw.nb_neighbors(1)), "efSearch": self.ef_search}

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def restriction(self, rows: np.ndarray) -> faiss.SearchParameters | _Subset:
        """Search parameters restricted to the given rows (build once, reuse)."""
        rows = np.sort(rows.astype(np.int64))
        if len(rows) <= self.subset_exact_max:
            sub = faiss.IndexFlatIP(self.dim)
            sub.add(self._index.reconstruct_batch(rows))
            return _Subset(sub, rows)
        return faiss.SearchParametersHNSW(sel=faiss.IDSelectorBatch(rows), efSearch=self.ef_search)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        restrict: faiss.SearchParameters | _Subset | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids) per query row, optionally only among restricted rows."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, max(len(self), 1))
        if isinstance(restrict, _Subset):
            scores, ids = restrict.index.search(q, min(k, len(restrict.rows)))
            return scores, np.where(ids >= 0, restrict.rows[np.maximum(ids, 0)], -1)
        params = restrict or faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        return self._index.search(q, k, params=params)
