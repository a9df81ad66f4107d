"""A real knowledge base: IU X-ray train sentences, templates and definitions, embedded
with the bundled sentence-transformers model into a FAISS index in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.adapters.st_embedder import SentenceTransformerEmbedder
from rag.config import Settings
from rag.kb.build import build_version
from rag.kb.sources import load_passages, read_sources
from rag.services import Services, build_services

REPO = Path(__file__).resolve().parents[2]
# Train reports used by the integration KB: enough for every common finding, fast to embed.
IU_LIMIT = 600


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The bundled all-MiniLM-L6-v2 model."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with a temporary home and the repository's shared assets cache."""
    home = tmp_path_factory.mktemp("radrag-home")
    return Settings(home=home, assets=REPO / ".radrag" / "assets", auth="disabled")


@pytest.fixture(scope="session")
def real_kb(real_settings: Settings, real_embedder: SentenceTransformerEmbedder):
    """Build and publish the integration knowledge base once per session."""
    passages, digests = load_passages(read_sources(), real_settings.assets_dir, iu_limit=IU_LIMIT)
    return build_version(real_settings.kb_root, passages, real_embedder, digests)


@pytest.fixture(scope="session")
def real_services(real_settings: Settings, real_kb, real_embedder) -> Services:
    """Services wired exactly as the app wires them, over the real KB."""
    return build_services(real_settings, embedder=real_embedder)
