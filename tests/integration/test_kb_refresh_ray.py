"""`kb refresh --executor ray`: batches embedded on Ray workers publish what a local run does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rag.adapters.ray_cluster import RayJobError
from rag.kb import refresh as refresh_mod
from rag.kb.ray_embed import RayEmbedder
from rag.kb.store import EMBEDDINGS, PASSAGES, load_version, versions_dir
from tests.fakes import TINY_CORPUS, HashEmbedder, sentence_passage
from tests.ray_cluster import broken_scorer, hash_embedder, pid_embedder

pytestmark = pytest.mark.integration


def _refresh(root: Path, passages, embedder=None, **kw):
    load = lambda: (list(passages), {"t": "x"})  # noqa: E731
    return refresh_mod.refresh(root, load, embedder or HashEmbedder(), **kw)


def test_ray_refresh_publishes_what_a_local_one_does(
    ray_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refresh_mod, "BATCH", 4)  # several batches over two workers
    extra = [
        sentence_passage(f"rib-{i}", f"Rib fracture number {i} on the left.") for i in range(9)
    ]
    runs = {}
    with RayEmbedder(hash_embedder, workers=2) as ray_embed:
        # On Ray the model is only on the workers: they also name the vectors (id, dim).
        for name, kw in (
            ("local", {}),
            ("ray", {"embedder": ray_embed, "embed_batches": ray_embed}),
        ):
            root = tmp_path / name
            _refresh(root, TINY_CORPUS, **kw)
            # The second refresh reuses the first one's vectors by content hash, and the
            # workers reproduce a sample of them (the identity probe), on Ray too.
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
    more = [*TINY_CORPUS, sentence_passage("ex-77", "Small left pleural effusion.")]
    broken = RayEmbedder(broken_scorer, workers=1)  # its factory raises in the worker
    with broken, pytest.raises(RayJobError, match="no knowledge base under /nowhere"):
        _refresh(root, more, embedder=broken, embed_batches=broken)
    assert load_version(root).version == first.version


def test_refresh_command_on_ray_loads_its_model_only_on_the_workers(
    ray_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import rag.cli.kb
    from rag.cli import app
    from rag.config import get_settings

    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(json.dumps({"id": i, "body": f"Effusion note {i}."}) + "\n" for i in range(5))
    )
    toml = tmp_path / "sources.toml"
    toml.write_text(
        f'[[source]]\nname = "notes"\nkind = "jsonl"\nlocation = "{docs}"\nlicence = "CC0"\n'
        'fields = { text = "body", key = "id" }\n'
    )
    monkeypatch.setenv("RADRAG_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    # Pickled by name, so the workers build the same fake; its id names who loaded it.
    monkeypatch.setattr(rag.cli.kb, "make_embedder", pid_embedder)
    try:
        args = ["kb", "refresh", "--sources", str(toml), "--executor", "ray", "--json"]
        done = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["embedded"] == 5
    manifest = load_version(tmp_path / "home" / "kb").manifest
    assert manifest.embedder.startswith(f"{HashEmbedder.id}-pid")
    assert manifest.embedder != f"{HashEmbedder.id}-pid{os.getpid()}"  # not this process
