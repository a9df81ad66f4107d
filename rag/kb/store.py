"""Published knowledge-base versions on disk: layout, atomic publish, verified load."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.adapters.faiss_index import FaissFlatIndex
from rag.adapters.registry_assets import sha256_file
from rag.domain import Finding, Passage, State
from rag.kb.manifest import Manifest

PASSAGES = "passages.jsonl"
INDEX = "index.faiss"
MANIFEST = "manifest.json"
POINTER = "CURRENT"


class KBError(RuntimeError):
    """A knowledge base is missing, corrupt or does not match the embedder."""


@dataclass
class KnowledgeBase:
    """A loaded, verified version: passages, their index and the manifest."""

    manifest: Manifest
    passages: list[Passage]
    index: FaissFlatIndex
    by_id: dict[str, Passage] = field(init=False)
    # Search restrictions built once per version: (finding, state) -> the sentences that
    # assert that state, (finding, None) -> the definitions about the finding.
    about: dict[tuple[Finding, State | None], object] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {p.id: p for p in self.passages}
        groups: dict[tuple[Finding, State | None], list[int]] = {}
        for i, p in enumerate(self.passages):
            for f, st in p.tags.items():
                groups.setdefault((f, st), []).append(i)
            for f in p.concerns:
                groups.setdefault((f, None), []).append(i)
        self.about = {
            key: self.index.restriction(np.array(rows, dtype=np.int64))
            for key, rows in groups.items()
        }

    @property
    def version(self) -> str:
        """The version name."""
        return self.manifest.version


def versions_dir(root: Path) -> Path:
    """Folder holding one sub-folder per version."""
    return root / "versions"


def current_version(root: Path) -> str | None:
    """The published version name, or None when nothing is published."""
    ptr = root / POINTER
    return ptr.read_text().strip() or None if ptr.exists() else None


def publish(root: Path, version: str) -> None:
    """Point CURRENT at a version atomically (write a temp file, then rename)."""
    if not (versions_dir(root) / version / MANIFEST).exists():
        raise KBError(f"cannot publish {version}: no such version under {root}")
    tmp = root / f".{POINTER}.tmp"
    tmp.write_text(version + "\n")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, root / POINTER)


def write_version(folder: Path, passages: list[Passage], index: FaissFlatIndex) -> dict[str, str]:
    """Write passages and index into a (staging) folder; return file checksums."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / PASSAGES).open("w") as fh:
        for p in passages:
            fh.write(p.model_dump_json() + "\n")
    index.save(folder / INDEX)
    return {name: sha256_file(folder / name) for name in (PASSAGES, INDEX)}


def load_version(
    root: Path, version: str | None = None, embedder_id: str | None = None
) -> KnowledgeBase:
    """Load and verify a version (the published one by default)."""
    version = version or current_version(root)
    if version is None:
        raise KBError(f"no knowledge base is published under {root}; run `radrag kb build`")
    folder = versions_dir(root) / version
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise KBError(f"knowledge base {version}: manifest missing") from exc
    for name, digest in manifest.files.items():
        path = folder / name
        if not path.exists():
            raise KBError(f"knowledge base {version}: {name} is missing")
        if sha256_file(path) != digest:
            raise KBError(f"knowledge base {version}: {name} fails its sha256 check (corrupted?)")
    if embedder_id is not None and embedder_id != manifest.embedder:
        raise KBError(
            f"knowledge base {version} was embedded with {manifest.embedder}, "
            f"but the service uses {embedder_id}; rebuild it or change RADRAG_EMBEDDER"
        )
    index = FaissFlatIndex.load(folder / INDEX)
    with (folder / PASSAGES).open() as fh:
        passages = [Passage.model_validate(json.loads(line)) for line in fh if line.strip()]
    if len(passages) != len(index) or index.dim != manifest.dim:
        raise KBError(
            f"knowledge base {version}: {len(passages)} passages vs {len(index)} vectors "
            f"(dim {index.dim}, manifest says {manifest.dim})"
        )
    return KnowledgeBase(manifest=manifest, passages=passages, index=index)
