"""A small local Ray cluster for the test session, and factories its workers can import.

One head plus worker processes on 127.0.0.1 (2 CPUs, a small object store, no dashboard),
started once by the first test that asks and shut down at the end of the session. Tests
that start `radrag` processes hand them its address as RAY_ADDRESS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.evaluation.executors import Scorer
from tests.fakes import HashEmbedder


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address of a local 2-CPU Ray cluster (shut down after the session)."""
    from rag.adapters.ray_cluster import init_ray

    init_ray(num_cpus=2)
    import ray

    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def tiny_scorer(home: Path, kb_version: str | None = None) -> Scorer:
    """In a worker: the extractive pipeline over the tiny KB published under `home`.

    With `kb_version`, the worker checks it loaded that version, as `worker_scorer` does.
    """
    from rag.evaluation.drafters import GuardedDrafter
    from rag.evaluation.runner import scorer
    from rag.kb.store import expect_version
    from rag.labeler import RuleLabeler
    from tests.conftest import services_over, tiny_settings_at

    svc = services_over(tiny_settings_at(home), HashEmbedder())
    expect_version(svc.kb.get().version, kb_version, svc.settings.kb_root)
    return scorer(GuardedDrafter(svc.pipeline, "extractive"), RuleLabeler())


def broken_scorer() -> Scorer:
    """In a worker: a factory that fails, as a worker without the KB would."""
    raise FileNotFoundError("no knowledge base under /nowhere")


def hash_embedder(settings: Settings | None = None) -> HashEmbedder:
    """In a worker: the deterministic embedder (a refresh's embedder factory)."""
    return HashEmbedder()


def pid_embedder(settings: Settings | None = None) -> HashEmbedder:
    """In a worker: the deterministic embedder, its id naming the process that loaded it."""
    emb = HashEmbedder()
    emb.id = f"{HashEmbedder.id}-pid{os.getpid()}"
    return emb
