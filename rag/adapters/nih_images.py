"""Read an NIH ChestX-ray14-style folder (labels.csv + PNGs) and split it by patient."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

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
        )
        for r in rows
    ]


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
