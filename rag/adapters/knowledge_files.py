"""Readers for document sources: Markdown/text folders, JSONL, DOID csv, HPO obo."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    """One document of a source: a stable key, a title and its text."""

    key: str
    title: str
    text: str


def read_text_dir(folder: Path, suffixes: tuple[str, ...]) -> Iterator[Record]:
    """Files with the given suffixes under a folder, one record per file (sorted)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in suffixes:
            text = path.read_text(encoding="utf-8")
            first = next((ln for ln in text.splitlines() if ln.strip()), path.stem)
            yield Record(str(path.relative_to(folder)), first.lstrip("# ").strip(), text)


def read_jsonl(path: Path, fields: Mapping[str, str]) -> Iterator[Record]:
    """Rows of a JSONL file mapped by `fields` (text, and optional key and title)."""
    text_f, key_f, title_f = fields.get("text", "text"), fields.get("key"), fields.get("title")
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if text_f not in row:
                raise ValueError(f"{path}:{n}: no field {text_f!r}")
            key = str(row[key_f]) if key_f else str(n)
            yield Record(key, str(row.get(title_f, "")) if title_f else "", str(row[text_f]))


def read_doid_csv(path: Path) -> Iterator[Record]:
    """Disease Ontology rows that carry a definition (columns cls, def, xrefs)."""
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("def"):
                yield Record(row["cls"], row["cls"], row["def"])


def read_obo(path: Path) -> Iterator[Record]:
    """[Term] stanzas of an OBO file with a definition: "name: def"."""
    term: dict[str, str] = {}

    def emit() -> Iterator[Record]:
        if "def" in term and "id" in term and "name" in term:
            # OBO quotes the definition and appends [xrefs].
            definition = term["def"].split('" [')[0].strip('"')
            yield Record(term["id"], term["name"], f"{term['name']}: {definition}")

    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("["):
                yield from emit()
                term = {} if line == "[Term]" else {"skip": "1"}
            elif ": " in line and "skip" not in term:
                tag, value = line.split(": ", 1)
                term.setdefault(tag, value)
    yield from emit()
