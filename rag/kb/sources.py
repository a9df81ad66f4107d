"""Load declared knowledge-base sources into passages (tagged by the labeler)."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.adapters.iu_xray import load_reports, read_split
from rag.adapters.registry_assets import iu_reports_dir
from rag.domain import Finding, Passage, PassageKind, State
from rag.kb.sources_docs import DOC_KINDS, document_passages, read_records
from rag.labeler import RuleLabeler, find_details, split_sentences

REPO_ROOT = Path(__file__).resolve().parents[2]
KB_DIR = REPO_ROOT / "knowledge_base"
DEFAULT_SOURCES = KB_DIR / "sources.toml"
SPLIT_DIR = KB_DIR / "splits"
# Body systems of radiology-semantic-dict whose definitions can concern a chest X-ray.
_CHEST_SYSTEMS = {None, "Thoracic", "Cardiac", "Chest", "Vascular", "Other"}


@dataclass(frozen=True)
class SourceSpec:
    """One declared source: what it is, where it comes from, under which licence."""

    name: str
    kind: str
    location: str
    licence: str
    split: str | None = None
    parser: str | None = None  # free text: which reader parses it (documentation)
    fields: dict[str, str] = field(default_factory=dict)  # jsonl: text/key/title fields
    max_chars: int = 800  # document chunk bound
    overlap: int = 150

    def path(self) -> Path:
        """The location as a path (relative paths are relative to the repository)."""
        p = Path(self.location)
        return p if p.is_absolute() else REPO_ROOT / p


def read_sources(path: Path = DEFAULT_SOURCES) -> list[SourceSpec]:
    """Parse a sources.toml file."""
    data = tomllib.loads(path.read_text())
    specs = []
    for i, raw in enumerate(data.get("source", [])):
        missing = {"name", "kind", "location", "licence"} - raw.keys()
        if missing:
            raise ValueError(f"{path}: source #{i + 1} lacks {', '.join(sorted(missing))}")
        specs.append(SourceSpec(**{k: raw[k] for k in SourceSpec.__dataclass_fields__ if k in raw}))
    return specs


_RUN_ON = re.compile(r"[a-z,] +(?:[A-Z][a-z]+)\b")


def _tidy(sentence: str) -> str:
    """Collapse whitespace and stray spaces before punctuation."""
    return re.sub(r"\s+([.,;:])", r"\1", " ".join(sentence.split())).rstrip(". ") + "."


def _well_formed(sentence: str) -> bool:
    """Reject run-on fragments ("Cardiomegaly No effusion") where report text lost a period."""
    return sentence[:1].isupper() and not _RUN_ON.search(sentence)


def _pid(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def iu_exemplars(
    assets_dir: Path, split: str, labeler: RuleLabeler, limit: int | None = None
) -> Iterator[Passage]:
    """Distinct report sentences of one split that assert at least one finding."""
    reports = load_reports(iu_reports_dir(assets_dir))
    ids = read_split(SPLIT_DIR, split)
    seen: set[str] = set()
    for rid in ids[:limit] if limit else ids:
        rep = reports.get(rid)
        if rep is None:
            raise ValueError(f"split lists {rid}, which the IU X-ray archive does not have")
        for raw in split_sentences(rep.text):
            sent = _tidy(raw)
            if not _well_formed(sent):
                continue
            key = " ".join(sent.lower().split())
            if key in seen:
                continue
            seen.add(key)
            tags = labeler.label(sent)
            if not tags:
                continue
            yield Passage(
                id=_pid("iu", key),
                text=sent,
                kind=PassageKind.exemplar,
                source=f"iu-xray:{rid}",
                tags=tags,
                details=tuple(sorted({d.kind.value for d in find_details(sent)})),
            )


def templates(path: Path, labeler: RuleLabeler) -> Iterator[Passage]:
    """Team-written, detail-free sentences, checked against the labeler as they load."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        tags = labeler.label(row["text"])
        want = State(row["state"])
        if tags.get(Finding(row["finding"])) is not want:
            raise ValueError(f"{path}:{n}: labeler reads {tags} from {row['text']!r}")
        yield Passage(
            id=row["id"],
            text=row["text"],
            kind=PassageKind.template,
            source=f"templates:{path.name}",
            tags=tags,
            details=tuple(sorted({d.kind.value for d in find_details(row["text"])})),
        )


def _topics(labeler: RuleLabeler, *names: str) -> tuple[Finding, ...]:
    """Findings a definition is about: those its names mention, whatever the state."""
    found = {f for n in names for f in labeler.label(n)}
    return tuple(f for f in Finding if f in found and f is not Finding.no_finding)


def semantic_dict(labeler: RuleLabeler) -> Iterator[Passage]:
    """Definitions and X-ray imaging findings from radiology-semantic-dict (MIT)."""
    import radiology_semantic

    data = Path(radiology_semantic.__file__).parent / "data"
    for c in json.loads((data / "medical_concepts.json").read_text()):
        if not c.get("definition") or c.get("body_system") not in _CHEST_SYSTEMS:
            continue
        syn = ", ".join(c.get("synonyms") or [])
        text = f"{c['name']}{f' ({syn})' if syn else ''}: {c['definition']}"
        concerns = _topics(labeler, c["name"], *(c.get("synonyms") or []))
        yield Passage(
            id=_pid("rsd", text),
            text=text,
            kind=PassageKind.definition,
            source="radiology-semantic-dict:concepts",
            concerns=concerns,
        )
    for f in json.loads((data / "imaging_findings.json").read_text()):
        if f.get("modality") != "XR" or not f.get("description"):
            continue
        text = f"{f['name']} ({f['pathology_name']}, radiograph): {f['description']}"
        concerns = _topics(labeler, f["name"], f["pathology_name"])
        yield Passage(
            id=_pid("rsd", text),
            text=text,
            kind=PassageKind.definition,
            source="radiology-semantic-dict:imaging_findings",
            concerns=concerns,
        )


def load_passages(
    specs: list[SourceSpec], assets_dir: Path, iu_limit: int | None = None
) -> tuple[list[Passage], dict[str, str]]:
    """All passages of the declared sources (deduplicated by id) and a digest per source."""
    labeler = RuleLabeler()
    out: dict[str, Passage] = {}
    digests: dict[str, str] = {}
    for spec in specs:
        if spec.kind == "iu_xray":
            items = iu_exemplars(assets_dir, spec.split or "train", labeler, iu_limit)
        elif spec.kind == "templates_jsonl":
            items = templates(spec.path(), labeler)
        elif spec.kind == "radiology_semantic_dict":
            items = semantic_dict(labeler)
        elif spec.kind in DOC_KINDS:
            try:
                records = read_records(spec.kind, spec.path(), spec.fields)
            except (OSError, ValueError) as exc:
                raise ValueError(f"source {spec.name}: {exc}") from exc
            items = document_passages(spec.name, records, labeler, spec.max_chars, spec.overlap)
        else:
            raise ValueError(f"source {spec.name}: unknown kind {spec.kind!r}")
        h = hashlib.sha256()
        try:
            items = list(items)
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"source {spec.name}: {exc}") from exc
        for p in items:
            if p.id not in out:
                out[p.id] = p
                h.update(p.id.encode())
        digests[spec.name] = h.hexdigest()
    return list(out.values()), digests
