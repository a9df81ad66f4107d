"""Incremental refresh with the real embedder: stored vectors are reused bit for bit."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.domain import Passage, PassageKind
from rag.kb.refresh import refresh
from rag.kb.store import EMBEDDINGS, load_version, versions_dir

pytestmark = pytest.mark.integration


def test_incremental_refresh_reuses_real_embeddings(
    real_settings: Settings, real_kb, real_embedder, tmp_path: Path
) -> None:
    root = tmp_path / "kb"
    shutil.copytree(real_settings.kb_root, root)  # leave the session KB alone
    base = load_version(root, embedder_id=real_embedder.id)
    extra = [
        Passage(id=f"new-{i}", text=t, kind=PassageKind.definition, source="test")
        for i, t in enumerate(["Atelectasis is collapse of lung tissue.", "A new note."])
    ]
    summary, m = refresh(root, lambda: ([*base.passages, *extra], {"t": "x"}), real_embedder)
    assert (summary.added, summary.embedded, summary.reused) == (2, 2, len(base.passages))
    old = np.load(versions_dir(root) / base.version / EMBEDDINGS)
    new = np.load(versions_dir(root) / m.version / EMBEDDINGS)
    assert np.array_equal(new[: len(old)], old)
    assert np.allclose(new[len(old) :], real_embedder.embed([p.text for p in extra]), atol=1e-5)
