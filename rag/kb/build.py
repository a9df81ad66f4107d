"""Build a knowledge-base version from scratch (a full refresh of given passages)."""

from __future__ import annotations

from pathlib import Path

from rag.domain import Passage
from rag.kb.manifest import Manifest
from rag.kb.refresh import refresh
from rag.ports import Embedder


def embed_text(p: Passage) -> str:
    """The text that is embedded for a passage (its plain text)."""
    return p.text


def build_version(
    root: Path,
    passages: list[Passage],
    embedder: Embedder,
    sources: dict[str, str],
    *,
    publish_now: bool = True,
    exact_max: int = 50_000,
) -> Manifest:
    """Embed, index, validate and write passages as a new version; optionally publish it.

    The version is written to a staging folder and renamed into place only when
    complete, so a crash never leaves a half-written version behind a valid name.
    """
    _, manifest = refresh(
        root,
        lambda: (passages, sources),
        embedder,
        full=True,
        exact_max=exact_max,
        retention=10**6,  # plain builds never prune; refresh jobs apply the retention
        publish_now=publish_now,
    )
    return manifest
