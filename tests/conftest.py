"""Shared fixtures: a tiny knowledge base on disk built with the deterministic fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.kb.build import build_version
from rag.kb.store import load_version
from rag.labeler import RuleLabeler
from rag.pipeline import ReportPipeline
from rag.security.audit import AuditLog
from rag.security.keys import KeyStore
from rag.services import KBHolder, Services
from rag.stages.decide import DecisionPolicy
from rag.stages.generate import ExtractiveGenerator
from tests.fakes import TINY_CORPUS, HashEmbedder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    """A deterministic embedder."""
    return HashEmbedder()


@pytest.fixture
def tiny_settings(tmp_path: Path) -> Settings:
    """Settings rooted in a temporary folder."""
    return Settings(
        home=tmp_path / "home", embedder="hash", min_support_score=-1.0, auth="disabled"
    )


@pytest.fixture
def tiny_kb_root(tiny_settings: Settings, fake_embedder: HashEmbedder) -> Path:
    """A published knowledge base of TINY_CORPUS."""
    build_version(tiny_settings.kb_root, list(TINY_CORPUS), fake_embedder, {"test": "x"})
    return tiny_settings.kb_root


@pytest.fixture
def tiny_services(
    tiny_settings: Settings, tiny_kb_root: Path, fake_embedder: HashEmbedder
) -> Services:
    """Services over the tiny KB with the fake embedder and the extractive generator."""
    holder = KBHolder(tiny_settings, fake_embedder.id)
    holder.reload()
    pipeline = ReportPipeline(
        holder.get,
        fake_embedder,
        ExtractiveGenerator(),
        RuleLabeler(),
        DecisionPolicy(min_support_score=-1.0),
        retrieval_k=64,
    )
    return Services(
        settings=tiny_settings,
        embedder=fake_embedder,
        kb=holder,
        pipeline=pipeline,
        keys=KeyStore(tiny_settings.keys_file),
        audit=AuditLog(tiny_settings.audit_file),
    )


def build_tiny_services(root: Path) -> Services:
    """Tiny services in a folder (for module-scoped fixtures)."""
    settings = Settings(
        home=root / "home", embedder="hash", min_support_score=-1.0, auth="disabled"
    )
    emb = HashEmbedder()
    build_version(settings.kb_root, list(TINY_CORPUS), emb, {"test": "x"})
    holder = KBHolder(settings, emb.id)
    holder.reload()
    pipeline = ReportPipeline(
        holder.get,
        emb,
        ExtractiveGenerator(),
        RuleLabeler(),
        DecisionPolicy(min_support_score=-1.0),
        retrieval_k=64,
    )
    return Services(
        settings=settings,
        embedder=emb,
        kb=holder,
        pipeline=pipeline,
        keys=KeyStore(settings.keys_file),
        audit=AuditLog(settings.audit_file),
    )


@pytest.fixture
def tiny_kb(tiny_kb_root: Path, fake_embedder: HashEmbedder):
    """The loaded tiny knowledge base."""
    return load_version(tiny_kb_root, embedder_id=fake_embedder.id)
