"""Refresh jobs: only new text is embedded, failed validation publishes nothing, retention."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.domain import Passage
from rag.kb.refresh import diff, refresh
from rag.kb.store import current_version, list_versions, load_version, prune, versions_dir
from rag.kb.validate import ValidationFailed
from tests.fakes import TINY_CORPUS, HashEmbedder, sentence_passage

pytestmark = pytest.mark.unit


class CountingEmbedder(HashEmbedder):
    """Records every text it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed and remember the texts."""
        self.texts += list(texts)
        return super().embed(texts)


class ImpostorEmbedder(HashEmbedder):
    """Claims the HashEmbedder's id but produces other vectors."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed, then rotate the vectors so they no longer match the real model."""
        return np.roll(super().embed(texts), 1, axis=1)


def _run(root: Path, passages: list[Passage], emb: HashEmbedder, **kw: object):
    return refresh(root, lambda: (list(passages), {"t": "x"}), emb, **kw)  # type: ignore[arg-type]


def test_incremental_refresh_embeds_only_new_text(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    first, _ = _run(root, TINY_CORPUS, CountingEmbedder())
    assert first.embedded == len(TINY_CORPUS) and first.reused == 0
    # One removed, one edited at the same locator, one brand new.
    edited = sentence_passage("ex-3b", "No pleural effusion or pneumothorax is seen.")
    edited = edited.model_copy(update={"source": TINY_CORPUS[2].source})
    new = sentence_passage("ex-99", "Small bilateral pleural effusions.")
    corpus = [p for p in TINY_CORPUS if p.id not in ("ex-3", "ex-12")] + [edited, new]
    emb = CountingEmbedder()
    second, manifest = _run(root, corpus, emb)
    fresh = {edited.text, new.text}
    assert second.embedded == 2 and second.reused == len(corpus) - 2
    assert fresh <= set(emb.texts) and len(set(emb.texts) - fresh) <= 8  # identity probe
    assert (second.added + second.changed, second.removed + second.changed) == (2, 2)
    assert manifest.parent == first.version and current_version(root) == second.version
    kb = load_version(root, embedder_id=emb.id)
    assert {p.id for p in kb.passages} == {p.id for p in corpus}
    again = HashEmbedder().embed([p.text for p in kb.passages])
    _, ids = kb.index.search(again, 1)
    assert list(ids[:, 0]) == list(range(len(corpus)))  # reused rows line up with passages


def test_full_refresh_embeds_everything(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    _run(root, TINY_CORPUS, HashEmbedder())
    summary, _ = _run(root, TINY_CORPUS, HashEmbedder(), full=True)
    assert summary.embedded == len(TINY_CORPUS) and summary.reused == 0


def test_diff_counts_edits_at_a_locator_as_changes() -> None:
    a = sentence_passage("a", "The heart is enlarged.").model_copy(update={"source": "s:1"})
    b = sentence_passage("b", "Heart size is normal.").model_copy(update={"source": "s:1"})
    c = sentence_passage("c", "No focal consolidation.").model_copy(update={"source": "s:2"})
    assert diff([a, c], [b, c]) == {"added": 0, "changed": 1, "removed": 0}
    assert diff([a], [a, c]) == {"added": 1, "changed": 0, "removed": 0}


def test_embedder_impostor_fails_validation_and_publishes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    first, _ = _run(root, TINY_CORPUS, HashEmbedder())
    extra = [*TINY_CORPUS, sentence_passage("ex-50", "Possible atelectasis.")]
    with pytest.raises(ValidationFailed, match="does not reproduce"):
        _run(root, extra, ImpostorEmbedder())
    assert current_version(root) == first.version
    assert [m.version for m in list_versions(root)] == [first.version]
    assert not list(root.glob(".staging-*"))


def test_unnormalised_vectors_are_refused(tmp_path: Path) -> None:
    class Unnormalised(HashEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return super().embed(texts) * 2.0

    with pytest.raises(ValidationFailed, match="normalised"):
        _run(tmp_path / "kb", TINY_CORPUS, Unnormalised())
    assert current_version(tmp_path / "kb") is None


def test_large_kb_gets_hnsw_and_restrictions_still_hold(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    summary, m = _run(root, TINY_CORPUS, HashEmbedder(), exact_max=4)
    assert summary.index_kind == m.index_kind == "hnsw-ip" and m.index_params["M"] > 0
    assert m.validation["recall_at_10"] >= 0.98 and m.validation["self_recall_at_1"] == 1.0
    kb = load_version(root)
    q = HashEmbedder().embed(["pleural effusion"])
    for (finding, state), restrict in kb.about.items():
        _, ids = kb.index.search(q, 5, restrict=restrict)
        for i in ids[0][ids[0] >= 0]:
            p = kb.passages[i]
            assert p.tags.get(finding) is state if state else finding in p.concerns


def test_retention_keeps_the_newest_and_the_published(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    made = [_run(root, TINY_CORPUS[: 4 + i], HashEmbedder(), retention=3)[0] for i in range(5)]
    kept = [m.version for m in list_versions(root)]
    assert kept == [s.version for s in made[-3:]]
    prune(root, 1)
    assert [d.name for d in versions_dir(root).iterdir()] == [made[-1].version]


def test_a_refresh_without_changes_publishes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    first, _ = _run(root, TINY_CORPUS, HashEmbedder())
    emb = CountingEmbedder()
    again, manifest = _run(root, TINY_CORPUS, emb)
    assert not again.published and again.version == manifest.version == first.version
    assert (again.embedded, again.reused, emb.texts) == (0, len(TINY_CORPUS), [])
    assert [m.version for m in list_versions(root)] == [first.version]
    # A new index kind (the size threshold moved) or --full is a real change.
    bigger, _ = _run(root, TINY_CORPUS, HashEmbedder(), exact_max=4)
    assert bigger.published and bigger.index_kind == "hnsw-ip"
    full, _ = _run(root, TINY_CORPUS, HashEmbedder(), exact_max=4, full=True)
    assert full.published and current_version(root) == full.version != bigger.version
