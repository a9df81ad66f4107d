"""The one place that picks an index type by size and opens an index file by kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.adapters.faiss_hnsw import FaissHNSWIndex
from rag.adapters.faiss_index import FaissFlatIndex

SearchIndex = FaissFlatIndex | FaissHNSWIndex
KINDS: dict[str, type[FaissFlatIndex] | type[FaissHNSWIndex]] = {
    FaissFlatIndex.kind: FaissFlatIndex,
    FaissHNSWIndex.kind: FaissHNSWIndex,
}


def index_kind_for(n: int, exact_max: int) -> str:
    """The kind of index `build_index` makes for `n` vectors."""
    return FaissFlatIndex.kind if n <= exact_max else FaissHNSWIndex.kind


def build_index(vectors: np.ndarray, exact_max: int) -> SearchIndex:
    """Exact search up to `exact_max` vectors (cheap and perfect), HNSW above."""
    if index_kind_for(len(vectors), exact_max) == FaissFlatIndex.kind:
        return FaissFlatIndex.build(vectors)
    return FaissHNSWIndex.build(vectors)


def load_index(path: Path, kind: str, params: dict[str, int] | None = None) -> SearchIndex:
    """Open an index file of the kind, with the search parameters, the manifest records."""
    if kind == FaissHNSWIndex.kind:
        return FaissHNSWIndex.load(path, ef_search=(params or {}).get("efSearch", 128))
    if kind == FaissFlatIndex.kind:
        return FaissFlatIndex.load(path)
    raise ValueError(f"unknown index kind {kind!r} (known: {', '.join(KINDS)})")
