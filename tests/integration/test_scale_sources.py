"""The shared knowledge files (MedQuAD, Disease Ontology, HPO) parse and chunk at scale."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.kb.sources import load_passages, read_sources

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SCALE = REPO / "knowledge_base" / "sources.scale.toml"


def test_shared_knowledge_files_load() -> None:
    if not (SHARED / "data" / "knowledge").is_dir():
        pytest.skip(f"{SHARED}/data/knowledge is absent: the scale sources cannot be exercised")
    specs = [s for s in read_sources(SCALE) if s.kind in ("jsonl", "doid_csv", "obo")]
    passages, digests = load_passages(specs, REPO / ".radrag" / "assets")
    by_source = {name: [p for p in passages if p.source.startswith(name + ":")] for name in digests}
    assert len(by_source["medquad"]) > 16_000  # long answers become several chunks
    assert all(len(p.text) <= 800 for p in by_source["medquad"])
    assert len(by_source["disease-ontology"]) > 2_000 and len(by_source["hpo"]) > 7_000
    assert len({p.id for p in passages}) == len(passages)
