"""Parse IU X-ray (Open-i) report XML files into plain records, and the fixed split."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class IUReport:
    """One IU X-ray report: sections as written, plus the MeSH major annotations."""

    id: str
    comparison: str
    indication: str
    findings: str
    impression: str
    mesh_major: tuple[str, ...]

    @property
    def text(self) -> str:
        """Findings and impression, the parts a labeler should read."""
        return " ".join(p for p in (self.findings, self.impression) if p)


def parse_report(path: Path) -> IUReport:
    """Parse one report XML file."""
    root = ET.parse(path).getroot()
    uid = root.find("uId")
    rid = uid.get("id") if uid is not None else None
    if not rid:
        raise ValueError(f"{path.name}: no uId")
    sections = {
        (a.get("Label") or "").upper(): " ".join((a.text or "").split())
        for a in root.iter("AbstractText")
    }
    mesh = tuple(m.text.strip() for m in root.iter("major") if m.text)
    return IUReport(
        id=rid,
        comparison=sections.get("COMPARISON", ""),
        indication=sections.get("INDICATION", ""),
        findings=sections.get("FINDINGS", ""),
        impression=sections.get("IMPRESSION", ""),
        mesh_major=mesh,
    )


def load_reports(folder: Path) -> dict[str, IUReport]:
    """All reports in a folder, keyed by report id (e.g. CXR1234)."""
    reports = (parse_report(p) for p in sorted(folder.glob("*.xml")))
    return {r.id: r for r in reports}


def assign_split(report_id: str) -> str:
    """Deterministic split by report id: 70% train, 15% validation, 15% test.

    IU X-ray has one report per patient study, so a split by report id keeps each
    patient's text on one side. A hash (not the numeric order) avoids any bias from
    how ids were assigned.
    """
    bucket = int(hashlib.sha256(report_id.encode()).hexdigest(), 16) % 100
    if bucket < 70:
        return "train"
    return "validation" if bucket < 85 else "test"


def read_split(split_dir: Path, split: str) -> list[str]:
    """The committed id list of a split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    path = split_dir / f"iu_xray_{split}.txt"
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def write_splits(report_ids: list[str], split_dir: Path) -> dict[str, int]:
    """Write the three id lists (sorted) and return their sizes."""
    split_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[str]] = {s: [] for s in SPLITS}
    for rid in report_ids:
        groups[assign_split(rid)].append(rid)
    for s, ids in groups.items():
        ids.sort(key=lambda x: int(x.removeprefix("CXR")))
        (split_dir / f"iu_xray_{s}.txt").write_text("\n".join(ids) + "\n")
    return {s: len(ids) for s, ids in groups.items()}
