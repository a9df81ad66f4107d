"""Knowledge-base versions: manifest, atomic pointer, checksum and embedder checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.kb.build import build_version
from rag.kb.store import INDEX, KBError, current_version, load_version, versions_dir
from tests.fakes import TINY_CORPUS, HashEmbedder

pytestmark = pytest.mark.unit


def test_manifest_describes_the_version(tiny_kb_root: Path) -> None:
    kb = load_version(tiny_kb_root, embedder_id="hash-embedder@64")
    m = kb.manifest
    assert m.version == current_version(tiny_kb_root)
    assert m.counts["passages"] == len(TINY_CORPUS) == len(kb.passages)
    assert m.index_kind == "flat-ip" and m.dim == 64 and m.embedder == "hash-embedder@64"
    assert set(m.files) == {"passages.jsonl", "index.faiss", "embeddings.npy"}


def test_every_passage_retrieves_itself_first(tiny_kb_root: Path) -> None:
    kb = load_version(tiny_kb_root)
    emb = HashEmbedder()
    unique = {p.text: i for i, p in enumerate(kb.passages)}
    _, ids = kb.index.search(emb.embed(list(unique)), 1)
    assert [int(i) for i in ids[:, 0]] == list(unique.values())


def test_tampered_index_is_refused(tiny_kb_root: Path) -> None:
    version = current_version(tiny_kb_root)
    path = versions_dir(tiny_kb_root) / version / INDEX
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(KBError, match="sha256"):
        load_version(tiny_kb_root)


def test_embedder_mismatch_is_refused(tiny_kb_root: Path) -> None:
    with pytest.raises(KBError, match="embedded with"):
        load_version(tiny_kb_root, embedder_id="other@384")


def test_new_version_records_its_parent(tiny_kb_root: Path) -> None:
    first = current_version(tiny_kb_root)
    m = build_version(tiny_kb_root, list(TINY_CORPUS[:5]), HashEmbedder(), {"t": "y"})
    assert m.parent == first and current_version(tiny_kb_root) == m.version
    assert load_version(tiny_kb_root, first).version == first  # old version intact


def test_nothing_published(tmp_path: Path) -> None:
    with pytest.raises(KBError, match="no knowledge base is published"):
        load_version(tmp_path)


def test_build_refuses_empty_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        build_version(tmp_path, [], HashEmbedder(), {})
    assert not np.any([p.name.startswith(".staging") for p in tmp_path.iterdir()])
