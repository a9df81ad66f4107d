"""Refresh jobs: load -> dedupe -> embed only new text -> index -> validate -> publish."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag import __version__
from rag.adapters.index_factory import SearchIndex, build_index, index_kind_for
from rag.domain import Passage
from rag.kb.manifest import Manifest
from rag.kb.store import (
    MANIFEST,
    current_version,
    load_embeddings,
    load_version,
    prune,
    publish,
    read_manifest,
    versions_dir,
    write_version,
)
from rag.kb.validate import ValidationFailed, same_embedder, validate
from rag.labeler import RuleLabeler
from rag.ports import Embedder

Progress = Callable[[str, int, int], None]  # (step, done, total)
# Embeds batches of texts, yielding each batch's vectors in order (Ray workers, say).
BatchEmbed = Callable[[list[list[str]]], Iterator[np.ndarray]]
BATCH = 256
IDENTITY_PROBE = 8


@dataclass
class RefreshSummary:
    """What a refresh did: the version, what changed and seconds per step."""

    version: str
    parent: str | None
    index_kind: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    reused: int = 0
    embedded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    # False when the published version already held exactly these passages: no new one.
    published: bool = True

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)


def text_key(embedder_id: str, text: str) -> str:
    """Reuse key of an embedding: the embedder and the exact text it embedded."""
    return hashlib.sha256(f"{embedder_id}\x00{text}".encode()).hexdigest()


def dedupe(passages: list[Passage]) -> list[Passage]:
    """Drop passages whose id (a content hash) was already seen, keeping the first."""
    return list({p.id: p for p in reversed(passages)}.values())[::-1]


def diff(old: list[Passage], new: list[Passage]) -> dict[str, int]:
    """Added / changed / removed passages; a change is new text at an old id or locator."""
    old_by_id, new_by_id = {p.id: p.text for p in old}, {p.id: p.text for p in new}
    changed = sum(1 for i, t in new_by_id.items() if i in old_by_id and old_by_id[i] != t)
    gone: dict[str, int] = defaultdict(int)
    came: dict[str, int] = defaultdict(int)
    for p in old:
        if p.id not in new_by_id:
            gone[p.source] += 1
    for p in new:
        if p.id not in old_by_id:
            came[p.source] += 1
    paired = sum(min(n, gone[src]) for src, n in came.items())
    return {
        "added": sum(came.values()) - paired,
        "changed": changed + paired,
        "removed": sum(gone.values()) - paired,
    }


def _prior(root: Path, embedder: Embedder) -> tuple[list[Passage], dict[str, np.ndarray]]:
    """The published version's passages and its reusable embeddings by text key."""
    version = current_version(root)
    if version is None:
        return [], {}
    manifest = read_manifest(root, version)
    stored = load_embeddings(root, manifest)
    if stored is None:
        return [], {}
    passages, vectors = stored
    if manifest.embedder != embedder.id:  # another model's vectors are never reused
        return passages, {}
    keyed = zip(passages, vectors, strict=True)
    return passages, {text_key(embedder.id, p.text): v for p, v in keyed}


def embed_passages(
    passages: list[Passage],
    embedder: Embedder,
    reuse: dict[str, np.ndarray],
    progress: Progress | None = None,
    embed_batches: BatchEmbed | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for all passages, embedding only texts without a stored vector.

    `embed_batches` embeds the new texts elsewhere (Ray); `embedder` still names the
    vectors and reproduces a sample of the reused ones.
    """
    keys = [text_key(embedder.id, p.text) for p in passages]
    todo = list(dict.fromkeys(k for k in keys if k not in reuse))
    text_of = {k: p.text for k, p in zip(keys, passages, strict=True)}
    batches = [todo[start : start + BATCH] for start in range(0, len(todo), BATCH)]
    texts = [[text_of[k] for k in batch] for batch in batches]
    runner = embed_batches or (lambda bs: (embedder.embed(b) for b in bs))
    fresh: dict[str, np.ndarray] = {}
    done = 0
    for batch, vectors in zip(batches, runner(texts), strict=True):
        fresh.update(zip(batch, vectors, strict=True))
        done += len(batch)
        if progress:
            progress("embed", done, len(todo))
    if reuse and len(todo) < len(keys):
        # Identity check: the current embedder must reproduce a sample of reused vectors.
        sample = [k for k in dict.fromkeys(keys) if k in reuse][:IDENTITY_PROBE]
        again = embedder.embed([text_of[k] for k in sample])
        if not same_embedder(np.asarray(again), np.stack([reuse[k] for k in sample])):
            raise ValidationFailed(f"embedder {embedder.id} does not reproduce stored vectors")
    rows = [fresh[k] if k in fresh else reuse[k] for k in keys]
    vectors = np.ascontiguousarray(np.stack(rows), dtype=np.float32)
    return vectors, len(todo)


def refresh(
    root: Path,
    load: Callable[[], tuple[list[Passage], dict[str, str]]],
    embedder: Embedder,
    *,
    full: bool = False,
    exact_max: int = 50_000,
    retention: int = 5,
    publish_now: bool = True,
    progress: Progress | None = None,
    embed_batches: BatchEmbed | None = None,
) -> tuple[RefreshSummary, Manifest]:
    """Run one refresh; a failure at any step leaves the published version untouched.

    When the published version already holds exactly these passages, embedded by this
    embedder into the same kind of index, nothing is written or published (`published`
    is False): a version only ever means a change.
    """
    secs: dict[str, float] = {}
    t = time.perf_counter()
    passages, sources = load()
    passages = dedupe(passages)
    if not passages:
        raise ValueError("no passages to index")
    secs["load"], t = time.perf_counter() - t, time.perf_counter()
    old, reuse = _prior(root, embedder)
    if not full and publish_now and old == passages:
        same = _unchanged(root, embedder, index_kind_for(len(passages), exact_max))
        if same is not None:
            secs["load"] = round(secs["load"], 3)
            return _no_change(same, len(passages), secs), same
    changes = diff(old, passages)
    vectors, embedded = embed_passages(
        passages, embedder, {} if full else reuse, progress, embed_batches
    )
    secs["embed"], t = time.perf_counter() - t, time.perf_counter()
    index = build_index(vectors, exact_max)
    secs["index"], t = time.perf_counter() - t, time.perf_counter()
    checks = validate(index, vectors, len(passages), embedder.dim)
    secs["validate"], t = time.perf_counter() - t, time.perf_counter()
    changes["reused"] = len(passages) - embedded
    manifest = _write(root, passages, index, vectors, embedder, sources, changes, checks)
    # Read back what is on disk (checksums, counts) before anyone is pointed at it.
    load_version(root, manifest.version, embedder_id=embedder.id)
    if publish_now:
        publish(root, manifest.version)
        prune(root, retention)
    secs["publish"] = time.perf_counter() - t
    summary = RefreshSummary(
        version=manifest.version,
        parent=manifest.parent,
        index_kind=manifest.index_kind,
        embedded=embedded,
        seconds={k: round(v, 3) for k, v in secs.items()},
        **changes,
    )
    return summary, manifest


def _unchanged(root: Path, embedder: Embedder, kind: str) -> Manifest | None:
    """The published manifest if it was made by this embedder into this kind of index."""
    version = current_version(root)
    if version is None:
        return None
    manifest = read_manifest(root, version)
    return manifest if (manifest.embedder, manifest.index_kind) == (embedder.id, kind) else None


def _no_change(manifest: Manifest, n: int, secs: dict[str, float]) -> RefreshSummary:
    return RefreshSummary(
        version=manifest.version,
        parent=manifest.parent,
        index_kind=manifest.index_kind,
        reused=n,
        seconds=secs,
        published=False,
    )


def _write(
    root: Path,
    passages: list[Passage],
    index: SearchIndex,
    vectors: np.ndarray,
    embedder: Embedder,
    sources: dict[str, str],
    changes: dict[str, int],
    checks: dict[str, float],
) -> Manifest:
    """Write a complete version into a staging folder, then rename it into place."""
    root.mkdir(parents=True, exist_ok=True)
    clear_stale_staging(root)
    staging = root / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        files = write_version(staging, passages, index, vectors)
        now = datetime.now(UTC)
        digest = hashlib.sha256("".join(sorted(files.values())).encode()).hexdigest()[:8]
        manifest = Manifest(
            version=f"{now:%Y%m%dT%H%M%S%fZ}-{digest}",
            parent=current_version(root),
            created=now.isoformat(),
            embedder=embedder.id,
            dim=index.dim,
            index_kind=index.kind,
            index_params=index.params,
            labeler=RuleLabeler.name,
            counts={
                "passages": len(passages),
                **{k.value: n for k, n in Counter(p.kind for p in passages).items()},
            },
            files=files,
            sources=sources,
            radrag_version=__version__,
            changes=changes,
            validation=checks,
        )
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2))
        dest = versions_dir(root) / manifest.version
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def clear_stale_staging(root: Path) -> None:
    """Remove staging folders of refreshes that died (their process is gone)."""
    for d in root.glob(".staging-*"):
        pid = d.name.split("-")[1]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
