"""FaissFlatIndex: exact inner-product search over unit vectors, stored as a FAISS file."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class FaissFlatIndex:
    """Exact cosine search (IndexFlatIP over L2-normalised rows)."""

    kind = "flat-ip"

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> FaissFlatIndex:
        """Index the given (n, dim) float32 unit vectors; row i gets id i."""
        if vectors.ndim != 2 or vectors.dtype != np.float32:
            raise ValueError("vectors must be a 2-D float32 array")
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> FaissFlatIndex:
        """Read an index file written by save()."""
        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        """Write the index to a file."""
        faiss.write_index(self._index, str(path))

    @property
    def params(self) -> dict[str, int]:
        """Build and search parameters, for the manifest (exact search has none)."""
        return {}

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @staticmethod
    def restriction(rows: np.ndarray) -> faiss.SearchParameters:
        """Search parameters that restrict results to the given row ids (build once, reuse)."""
        return faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows.astype(np.int64)))

    def search(
        self, queries: np.ndarray, k: int, restrict: faiss.SearchParameters | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids) per query row, optionally only among restricted rows."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, max(len(self), 1))
        if restrict is None:
            return self._index.search(q, k)
        return self._index.search(q, k, params=restrict)
