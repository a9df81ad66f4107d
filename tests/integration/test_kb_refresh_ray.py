"""`kb refresh --executor ray`: batches embedded on Ray workers publish what a local run does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.adapters.ray_cluster import RayJobError
from rag.kb import refresh as refresh_mod
from rag.kb.ray_embed import RayBatchEmbedder
from rag.kb.store import EMBEDDINGS, PASSAGES, load_version, versions_dir
from tests.fakes import TINY_CORPUS, HashEmbedder, sentence_passage
from tests.ray_cluster import broken_scorer, hash_embedder

pytestmark = pytest.mark.integration


def _refresh(root: Path, passages, **kw):
    return refresh_mod.refresh(root, lambda: (list(passages), {"t": "x"}), HashEmbedder(), **kw)


def test_ray_refresh_publishes_what_a_local_one_does(
    ray_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refresh_mod, "BATCH", 4)  # several batches over two workers
    extra = [
        sentence_passage(f"rib-{i}", f"Rib fracture number {i} on the left.") for i in range(9)
    ]
    ray_embed = RayBatchEmbedder(hash_embedder, workers=2)
    runs = {}
    for name, kw in (("local", {}), ("ray", {"embed_batches": ray_embed})):
        root = tmp_path / name
        _refresh(root, TINY_CORPUS, **kw)
        # The second refresh reuses the first one's vectors by content hash, on Ray too.
        summary, manifest = _refresh(root, [*TINY_CORPUS, *extra], **kw)
        assert (summary.embedded, summary.reused) == (len(extra), len(TINY_CORPUS))
        runs[name] = (load_version(root), manifest, versions_dir(root) / manifest.version)
    (kb_a, m_a, dir_a), (kb_b, m_b, dir_b) = runs["local"], runs["ray"]
    assert [p.id for p in kb_a.passages] == [p.id for p in kb_b.passages]
    assert m_a.files[PASSAGES] == m_b.files[PASSAGES]
    np.testing.assert_allclose(np.load(dir_a / EMBEDDINGS), np.load(dir_b / EMBEDDINGS), atol=1e-6)
    assert m_a.counts == m_b.counts and m_a.index_kind == m_b.index_kind


def test_a_failing_embedding_worker_publishes_nothing(ray_cluster: str, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    first, _ = _refresh(root, TINY_CORPUS)
    broken = RayBatchEmbedder(broken_scorer, workers=1)  # its factory raises in the worker
    more = [*TINY_CORPUS, sentence_passage("ex-77", "Small left pleural effusion.")]
    with pytest.raises(RayJobError, match="no knowledge base under /nowhere"):
        _refresh(root, more, embed_batches=broken)
    assert load_version(root).version == first.version
