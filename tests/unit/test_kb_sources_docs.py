"""Document sources: chunking bounds and overlap, JSONL field maps, folders, OBO, DOID."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from rag.domain import Finding, PassageKind
from rag.kb.chunk import chunk_text
from rag.kb.sources import SourceSpec, load_passages

pytestmark = pytest.mark.unit

LONG = " ".join(f"Sentence number {i} says something about the lungs." for i in range(60))


def test_short_text_is_one_chunk() -> None:
    assert chunk_text("  The heart   is enlarged. ") == ["The heart is enlarged."]
    assert chunk_text("   ") == []


def test_long_text_is_bounded_overlapping_chunks() -> None:
    chunks = chunk_text(LONG, max_chars=300, overlap=80)
    assert len(chunks) > 5 and all(len(c) <= 300 for c in chunks)
    for a, b in pairwise(chunks):
        assert a.split(". ")[-1].rstrip(".") in b  # the last sentence is carried over
    words = set(LONG.split())
    assert set(" ".join(chunks).split()) == words  # nothing lost


def test_unpunctuated_text_is_still_bounded() -> None:
    chunks = chunk_text("word " * 500, max_chars=200, overlap=50)
    assert all(len(c) <= 200 for c in chunks) and len(chunks) >= 10


def _spec(kind: str, location: Path, **kw: object) -> SourceSpec:
    return SourceSpec(name="s", kind=kind, location=str(location), licence="CC0", **kw)  # type: ignore[arg-type]


def test_jsonl_fields_and_dedup(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [
        {"q": "1", "topic": "Pleural effusion", "answer": LONG},
        {"q": "2", "topic": "Other", "answer": "Same text."},
        {"q": "3", "topic": "Other", "answer": "Same text."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    fields = {"text": "answer", "key": "q", "title": "topic"}
    passages, digests = load_passages([_spec("jsonl", path, fields=fields)], tmp_path)
    long = [p for p in passages if p.source.startswith("s:1#")]
    assert len(long) > 1 and all(len(p.text) <= 800 for p in long)
    assert all(p.concerns == (Finding.pleural_effusion,) for p in long)
    assert sum(p.text == "Same text." for p in passages) == 1  # same content hash, kept once
    assert all(p.kind is PassageKind.definition for p in passages) and set(digests) == {"s"}


def test_markdown_dir_and_text_dir(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Pneumothorax\n\nAir in the pleural space.\n")
    (tmp_path / "docs" / "b.txt").write_text("Plain text note.\n")
    md, _ = load_passages([_spec("markdown_dir", tmp_path / "docs")], tmp_path)
    txt, _ = load_passages([_spec("text_dir", tmp_path / "docs")], tmp_path)
    assert [p.source for p in md] == ["s:a.md#0"] and md[0].concerns == (Finding.pneumothorax,)
    assert [p.text for p in txt] == ["Plain text note."]


def test_obo_and_doid(tmp_path: Path) -> None:
    obo = tmp_path / "x.obo"
    obo.write_text(
        "format-version: 1.2\n\n[Term]\nid: HP:1\nname: Cardiomegaly\n"
        'def: "Increased size of the heart." [HPO:x]\n\n[Term]\nid: HP:2\nname: No def\n\n'
        '[Typedef]\nid: part_of\nname: part of\ndef: "not a term" []\n'
    )
    doid = tmp_path / "d.csv"
    doid.write_text('cls,def,xrefs\nDOID:1,"A lung disease, chronic.",X\nDOID:2,,\n')
    terms, _ = load_passages([_spec("obo", obo)], tmp_path)
    assert [p.text for p in terms] == ["Cardiomegaly: Increased size of the heart."]
    assert terms[0].concerns == (Finding.cardiomegaly,)
    rows, _ = load_passages([_spec("doid_csv", doid)], tmp_path)
    assert [p.text for p in rows] == ["A lung disease, chronic."]


def test_missing_location_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"source s: .*does not exist"):
        load_passages([_spec("jsonl", tmp_path / "absent.jsonl")], tmp_path)
