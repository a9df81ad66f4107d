"""Document sources (folders, JSONL, ontologies) -> chunked definition passages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from rag.adapters.knowledge_files import (
    Record,
    read_doid_csv,
    read_jsonl,
    read_obo,
    read_text_dir,
)
from rag.domain import Finding, Passage, PassageKind
from rag.kb.chunk import chunk_text, normalise
from rag.labeler import RuleLabeler

DOC_KINDS = ("markdown_dir", "text_dir", "jsonl", "doid_csv", "obo")


def read_records(kind: str, path: Path, fields: Mapping[str, str]) -> Iterator[Record]:
    """The records of a document source of a given kind."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if kind == "markdown_dir":
        return read_text_dir(path, (".md", ".markdown"))
    if kind == "text_dir":
        return read_text_dir(path, (".txt",))
    if kind == "jsonl":
        return read_jsonl(path, fields)
    if kind == "doid_csv":
        return read_doid_csv(path)
    if kind == "obo":
        return read_obo(path)
    raise ValueError(f"unknown document kind {kind!r}")


def document_passages(
    name: str,
    records: Iterator[Record],
    labeler: RuleLabeler,
    max_chars: int = 800,
    overlap: int = 150,
) -> Iterator[Passage]:
    """Chunk each record; the id is a hash of the chunk text (the deduplication key)."""
    for rec in records:
        title = normalise(rec.title)
        # A chunk concerns the chest findings its document's title names, whatever the state.
        found = labeler.label(title) if title else {}
        concerns = tuple(f for f in Finding if f in found and f is not Finding.no_finding)
        for i, chunk in enumerate(chunk_text(rec.text, max_chars, overlap)):
            yield Passage(
                id=f"doc-{hashlib.sha256(chunk.encode()).hexdigest()[:16]}",
                text=chunk,
                kind=PassageKind.definition,
                # The locator (source, record, chunk ordinal) tells "changed" from "added".
                source=f"{name}:{rec.key}#{i}",
                concerns=concerns,
            )
