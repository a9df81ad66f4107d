"""Published knowledge-base versions on disk: layout, atomic publish, verified load."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.adapters.index_factory import SearchIndex, load_index
from rag.adapters.registry_assets import sha256_file
from rag.domain import Finding, Passage, State
from rag.kb.manifest import Manifest

PASSAGES = "passages.jsonl"
INDEX = "index.faiss"
EMBEDDINGS = "embeddings.npy"  # row i embeds passages.jsonl line i; refreshes reuse them
MANIFEST = "manifest.json"
POINTER = "CURRENT"


class KBError(RuntimeError):
    """A knowledge base is missing, corrupt or does not match the embedder."""


@dataclass
class KnowledgeBase:
    """A loaded, verified version: passages, their index and the manifest."""

    manifest: Manifest
    passages: list[Passage]
    index: SearchIndex
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


def expect_version(loaded: str, expected: str | None, root: Path) -> None:
    """Refuse a knowledge base other than the one a job was started with.

    A batch job reads CURRENT once, in the command, and stamps that version into its
    results; its workers load the KB later, each on its own. A publish in between, or a
    worker whose RADRAG_HOME names another folder, would draft from other passages than
    the results say, so the worker fails instead.
    """
    if expected is not None and loaded != expected:
        raise KBError(
            f"this worker loaded knowledge base {loaded} from {root}, but the job expects "
            f"{expected}: CURRENT changed since the job started, or RADRAG_HOME differs "
            "on this node; start the job again"
        )


def publish(root: Path, version: str) -> None:
    """Point CURRENT at a version atomically (write a temp file, then rename)."""
    if not (versions_dir(root) / version / MANIFEST).exists():
        raise KBError(f"cannot publish {version}: no such version under {root}")
    tmp = root / f".{POINTER}.tmp"
    tmp.write_text(version + "\n")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, root / POINTER)


def write_version(
    folder: Path, passages: list[Passage], index: SearchIndex, vectors: np.ndarray | None = None
) -> dict[str, str]:
    """Write passages, index (and embeddings) into a (staging) folder; return checksums."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / PASSAGES).open("w") as fh:
        for p in passages:
            fh.write(p.model_dump_json() + "\n")
    index.save(folder / INDEX)
    names = [PASSAGES, INDEX]
    if vectors is not None:
        np.save(folder / EMBEDDINGS, vectors)
        names.append(EMBEDDINGS)
    for name in names:  # durable before the folder is renamed into place
        with (folder / name).open("rb") as fh:
            os.fsync(fh.fileno())
    return {name: sha256_file(folder / name) for name in names}


def read_manifest(root: Path, version: str) -> Manifest:
    """The manifest of one version (raises KBError when unreadable)."""
    try:
        return Manifest.model_validate_json((versions_dir(root) / version / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise KBError(f"knowledge base {version}: manifest missing or unreadable") from exc


def list_versions(root: Path) -> list[Manifest]:
    """Manifests of all complete versions, oldest first (unreadable ones are skipped)."""
    out = []
    folder = versions_dir(root)
    for d in folder.iterdir() if folder.exists() else []:
        if (d / MANIFEST).exists():
            try:
                out.append(read_manifest(root, d.name))
            except KBError:
                continue
    return sorted(out, key=lambda m: (m.created, m.version))


def prune(root: Path, keep: int) -> list[str]:
    """Delete all but the `keep` newest versions, never the published one; return removed."""
    current = current_version(root)
    others = [m.version for m in list_versions(root) if m.version != current]
    doomed = others[: max(len(others) - max(keep - 1, 0), 0)]
    for v in doomed:
        shutil.rmtree(versions_dir(root) / v, ignore_errors=True)
    return doomed


def load_embeddings(root: Path, manifest: Manifest) -> tuple[list[Passage], np.ndarray] | None:
    """Passages and stored embeddings of a version, if it kept them and they verify."""
    folder = versions_dir(root) / manifest.version
    digest = manifest.files.get(EMBEDDINGS)
    if digest is None or sha256_file(folder / EMBEDDINGS) != digest:
        return None
    with (folder / PASSAGES).open() as fh:
        passages = [Passage.model_validate(json.loads(line)) for line in fh if line.strip()]
    vectors = np.load(folder / EMBEDDINGS)
    return (passages, vectors) if len(vectors) == len(passages) else None


def load_version(
    root: Path, version: str | None = None, embedder_id: str | None = None
) -> KnowledgeBase:
    """Load and verify a version (the published one by default)."""
    version = version or current_version(root)
    if version is None:
        raise KBError(f"no knowledge base is published under {root}; run `radrag kb build`")
    folder = versions_dir(root) / version
    manifest = read_manifest(root, version)
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
    try:
        index = load_index(folder / INDEX, manifest.index_kind, manifest.index_params)
    except (RuntimeError, ValueError) as exc:
        raise KBError(f"knowledge base {version}: cannot read its index ({exc})") from exc
    with (folder / PASSAGES).open() as fh:
        passages = [Passage.model_validate(json.loads(line)) for line in fh if line.strip()]
    if len(passages) != len(index) or index.dim != manifest.dim:
        raise KBError(
            f"knowledge base {version}: {len(passages)} passages vs {len(index)} vectors "
            f"(dim {index.dim}, manifest says {manifest.dim})"
        )
    return KnowledgeBase(manifest=manifest, passages=passages, index=index)
