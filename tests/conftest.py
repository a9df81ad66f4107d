"""Shared fixtures: a tiny knowledge base on disk built with the deterministic fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.kb.build import build_version
from rag.kb.store import load_version
from rag.labeler import RuleLabeler
from rag.pipeline import ReportPipeline
from rag.services import KBHolder, Services
from rag.stages.decide import DecisionPolicy
from rag.stages.generate import ExtractiveGenerator
from tests.fakes import TINY_CORPUS, HashEmbedder
from tests.ray_cluster import ray_cluster  # noqa: F401 - the session's local Ray cluster

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    """A deterministic embedder."""
    return HashEmbedder()


@pytest.fixture
def tiny_settings(tmp_path: Path) -> Settings:
    """Settings rooted in a temporary folder."""
    return tiny_settings_at(tmp_path / "home")


@pytest.fixture
def tiny_kb_root(tiny_settings: Settings, fake_embedder: HashEmbedder) -> Path:
    """A published knowledge base of TINY_CORPUS."""
    build_version(tiny_settings.kb_root, list(TINY_CORPUS), fake_embedder, {"test": "x"})
    return tiny_settings.kb_root


def tiny_settings_at(home: Path) -> Settings:
    """Settings for the tiny KB: fake embedder, no support floor, auth off on loopback."""
    return Settings(home=home, embedder="hash", min_support_score=-1.0, auth="disabled")


def services_over(settings: Settings, embedder: HashEmbedder) -> Services:
    """Services over the KB published under settings, with the extractive generator."""
    holder = KBHolder(settings, embedder.id)
    holder.reload()
    pipeline = ReportPipeline(
        holder.get,
        embedder,
        ExtractiveGenerator(),
        RuleLabeler(),
        DecisionPolicy(min_support_score=-1.0),
        retrieval_k=64,
    )
    return Services(settings=settings, embedder=embedder, kb=holder, pipeline=pipeline)


@pytest.fixture
def tiny_services(
    tiny_settings: Settings, tiny_kb_root: Path, fake_embedder: HashEmbedder
) -> Services:
    """Services over the tiny KB with the fake embedder and the extractive generator."""
    return services_over(tiny_settings, fake_embedder)


def build_tiny_services(root: Path) -> Services:
    """Tiny services in a folder (for module-scoped fixtures)."""
    settings, emb = tiny_settings_at(root / "home"), HashEmbedder()
    build_version(settings.kb_root, list(TINY_CORPUS), emb, {"test": "x"})
    return services_over(settings, emb)


@pytest.fixture
def tiny_kb(tiny_kb_root: Path, fake_embedder: HashEmbedder):
    """The loaded tiny knowledge base."""
    return load_version(tiny_kb_root, embedder_id=fake_embedder.id)


@pytest.fixture
def client(tiny_services: Services):
    """An HTTP client of the app over the tiny services (lifespan run)."""
    from fastapi.testclient import TestClient

    from rag.api.app import create_app

    with TestClient(create_app(services=tiny_services)) as c:
        yield c


@pytest.fixture(scope="session")
def postgres_admin_url():
    """A real PostgreSQL server for the session (skips only when the binaries are missing)."""
    from tests.postgres_server import MISSING, pg_bin, postgres_server

    if pg_bin() is None:
        pytest.skip(MISSING)
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: SQLite in a temp folder, or a fresh database on the real server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'radrag.db'}"
    from tests.postgres_server import fresh_database

    return fresh_database(request.getfixturevalue("postgres_admin_url"))
