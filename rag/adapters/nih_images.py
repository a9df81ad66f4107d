"""Read an NIH ChestX-ray14-style folder (labels.csv + PNGs) and split it by patient."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from rag.domain import Finding, State

# Every NIH label, in a fixed order: the classes of the trained checkpoint.
NIH_CLASSES: tuple[str, ...] = (
    "No Finding",
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Effusion",
    "Emphysema",
    "Fibrosis",
    "Hernia",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pleural_Thickening",
    "Pneumonia",
    "Pneumothorax",
)

# NIH ChestX-ray14 label -> ontology finding: the encoder's label map and the reference
# labels of image evaluations both come from here. Emphysema, Fibrosis and Hernia have no
# CheXpert counterpart; fracture, support devices and enlarged cardiomediastinum are not
# labelled in NIH, so the encoder reports them as not assessed and NIH cannot score them.
NIH_TO_FINDING: dict[str, Finding] = {
    "No Finding": Finding.no_finding,
    "Atelectasis": Finding.atelectasis,
    "Cardiomegaly": Finding.cardiomegaly,
    "Consolidation": Finding.consolidation,
    "Edema": Finding.edema,
    "Effusion": Finding.pleural_effusion,
    "Infiltration": Finding.lung_opacity,
    "Mass": Finding.lung_lesion,
    "Nodule": Finding.lung_lesion,
    "Pleural_Thickening": Finding.pleural_other,
    "Pneumonia": Finding.pneumonia,
    "Pneumothorax": Finding.pneumothorax,
}
# The findings NIH's labels say something about (present or absent) for every image.
NIH_LABELLED: frozenset[Finding] = frozenset(NIH_TO_FINDING.values())

SPLITS = ("train", "valid", "test")
# Chosen (before any training) as the salt among 0-199 whose split gives every mapped
# finding at least 5 positives in both valid and test (patients cluster findings).
SPLIT_SALT = 81


@dataclass(frozen=True)
class NihRecord:
    """One labelled image."""

    path: Path
    patient: str
    labels: frozenset[str]
    view: str
    age: int | None = None
    sex: str = ""


def patient_split(patient: str) -> str:
    """Deterministic 60/20/20 split by patient id, so no patient spans two splits."""
    bucket = (
        int(hashlib.sha256(f"radrag-nih-{SPLIT_SALT}:{patient}".encode()).hexdigest(), 16) % 100
    )
    return "train" if bucket < 60 else "valid" if bucket < 80 else "test"


def read_records(root: Path) -> list[NihRecord]:
    """All records of labels.csv (the csv's own split column is ignored: it leaks patients)."""
    table = root / "labels.csv"
    if not table.is_file():
        raise FileNotFoundError(f"{table} not found (expected an nih1000-style folder)")
    with table.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        NihRecord(
            path=root / r["path"],
            patient=str(r["Patient ID"]),
            labels=frozenset(x.strip() for x in r["Finding Labels"].split("|")),
            view=r.get("View Position", "") or "",
            age=_age(r.get("Patient Age")),
            sex=(r.get("Patient Gender") or "").strip().upper(),
        )
        for r in rows
    ]


def _age(value: str | None) -> int | None:
    # Some NIH exports write ages as "056Y"; anything else unreadable is left unknown.
    digits = (value or "").strip().upper().removesuffix("Y")
    return int(digits) if digits.isdigit() else None


def reference_states(labels: frozenset[str]) -> dict[Finding, State]:
    """NIH labels as ontology states: every NIH-labelled finding is present or absent.

    NIH labels each image for all its classes, so a mapped finding without a label is
    absent; findings NIH does not label are left out (not assessed), never called absent.
    """
    present = {NIH_TO_FINDING[x] for x in labels if x in NIH_TO_FINDING}
    return {
        f: State.present if f in present else State.absent for f in Finding if f in NIH_LABELLED
    }


def by_split(records: list[NihRecord]) -> dict[str, list[NihRecord]]:
    """Records grouped by the patient-level split."""
    out: dict[str, list[NihRecord]] = {s: [] for s in SPLITS}
    for r in records:
        out[patient_split(r.patient)].append(r)
    return out


def load_pixels(record: NihRecord) -> np.ndarray:
    """The image as uint8 grayscale."""
    with Image.open(record.path) as im:
        return np.asarray(im.convert("L"))


def targets(records: list[NihRecord]) -> np.ndarray:
    """Multi-hot (n, len(NIH_CLASSES)) float32 targets."""
    y = np.zeros((len(records), len(NIH_CLASSES)), dtype=np.float32)
    for i, r in enumerate(records):
        for j, c in enumerate(NIH_CLASSES):
            y[i, j] = float(c in r.labels)
    return y
