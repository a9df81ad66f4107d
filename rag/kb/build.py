"""Build a knowledge-base version: passages -> embeddings -> FAISS index -> publish."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from rag import __version__
from rag.adapters.faiss_index import FaissFlatIndex
from rag.domain import Passage
from rag.kb.manifest import Manifest
from rag.kb.store import MANIFEST, current_version, publish, versions_dir, write_version
from rag.labeler import RuleLabeler
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
) -> Manifest:
    """Embed and index passages into a new version folder; optionally publish it.

    The version is written to a staging folder and renamed into place only when
    complete, so a crash never leaves a half-written version behind a valid name.
    """
    if not passages:
        raise ValueError("no passages to index")
    root.mkdir(parents=True, exist_ok=True)
    vectors = embedder.embed([embed_text(p) for p in passages])
    index = FaissFlatIndex.build(vectors)
    staging = root / f".staging-{uuid.uuid4().hex}"
    try:
        files = write_version(staging, passages, index)
        now = datetime.now(UTC)
        digest = hashlib.sha256("".join(sorted(files.values())).encode()).hexdigest()[:8]
        version = f"{now:%Y%m%dT%H%M%SZ}-{digest}"
        manifest = Manifest(
            version=version,
            parent=current_version(root),
            created=now.isoformat(),
            embedder=embedder.id,
            dim=index.dim,
            index_kind=index.kind,
            labeler=RuleLabeler.name,
            counts={
                "passages": len(passages),
                **{k.value: n for k, n in Counter(p.kind for p in passages).items()},
            },
            files=files,
            sources=sources,
            radrag_version=__version__,
        )
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2))
        dest = versions_dir(root) / version
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():  # same second and same files: that version already exists
            staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if publish_now:
        publish(root, version)
    return manifest
