"""Labelled image folders a site calibrates and evaluates on, and their split by patient.

Two readers share one record type: an NIH ChestX-ray14-style folder (`labels.csv` with
"Finding Labels" and "Patient ID") and a site folder (`labels.csv` with `path`,
`patient` and one column per ontology finding holding 1, 0, or blank for "not labelled";
CheXpert's -1, uncertain, counts as not labelled). Each record's reference is
ontology findings -> present (True) or absent (False); a finding the folder does not
label is left out, never taken as absent.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from rag.adapters.nih_images import NIH_TO_FINDING, SPLIT_SALT, read_records
from rag.domain import DecodedImage, Finding

SPLIT_FILE = "split.json"  # the split an encoder folder was calibrated with


class DatasetError(ValueError):
    """A labelled folder that cannot be read (no labels.csv, unknown columns)."""


@dataclass(frozen=True)
class LabelledImage:
    """One labelled image: where it is, whose it is, and what its labels say."""

    path: Path
    patient: str
    reference: dict[Finding, bool] = field(hash=False)
    view: str = ""


@dataclass(frozen=True)
class PatientSplit:
    """Patients hashed (sha256 of salt:patient) into 100 buckets; each split owns a range.

    Buckets are disjoint, so no patient is in two splits. NIH keeps the project's 60/20/20
    split (train, then calibrate + certify = the old "valid", then test) with its salt.
    """

    salt: str
    ranges: dict[str, tuple[int, int]]

    def bucket(self, patient: str) -> int:
        """The patient's bucket in [0, 100)."""
        return int(hashlib.sha256(f"{self.salt}:{patient}".encode()).hexdigest(), 16) % 100

    def name(self, patient: str) -> str:
        """The split the patient belongs to."""
        b = self.bucket(patient)
        return next(k for k, (lo, hi) in self.ranges.items() if lo <= b < hi)

    def select(self, records: list[LabelledImage], split: str) -> list[LabelledImage]:
        """The records of one split (in file order)."""
        if split == "valid":  # the old name: calibrate and certify together
            return [r for r in records if self.name(r.patient) in ("calibrate", "certify")]
        if split not in self.ranges:
            raise DatasetError(f"unknown split {split!r}; expected one of {sorted(self.ranges)}")
        return [r for r in records if self.name(r.patient) == split]

    def to_json(self) -> dict[str, object]:
        """The split as recorded in an encoder folder."""
        return {"salt": self.salt, "buckets": {k: list(v) for k, v in self.ranges.items()}}

    @classmethod
    def from_json(cls, data: dict) -> PatientSplit:
        """Read back what to_json wrote."""
        return cls(data["salt"], {k: (int(a), int(b)) for k, (a, b) in data["buckets"].items()})


# The embedded encoder trains on NIH's train patients, so they stay out of the other three.
NIH_SPLIT = PatientSplit(
    f"radrag-nih-{SPLIT_SALT}",
    {"train": (0, 60), "calibrate": (60, 70), "certify": (70, 80), "test": (80, 100)},
)
# A site's own folder trains nothing: calibration, certification and test only.
SITE_SPLIT = PatientSplit(
    "radrag-site", {"calibrate": (0, 40), "certify": (40, 70), "test": (70, 100)}
)


@dataclass(frozen=True)
class LabelledFolder:
    """A labelled folder, read: its kind, records and default split."""

    root: Path
    kind: str  # "nih" or "csv"
    records: list[LabelledImage]
    split: PatientSplit

    def digest(self) -> str:
        """A short digest of labels.csv (recorded with a calibration)."""
        return hashlib.sha256((self.root / "labels.csv").read_bytes()).hexdigest()[:16]


def open_folder(root: Path) -> LabelledFolder:
    """Read a labelled folder of either kind, chosen by labels.csv's header."""
    table = root / "labels.csv"
    if not table.is_file():
        raise DatasetError(f"{root} has no labels.csv")
    with table.open(newline="") as fh:
        header = next(csv.reader(fh), [])
    if "Finding Labels" in header:
        return LabelledFolder(root, "nih", _nih(root), NIH_SPLIT)
    return LabelledFolder(root, "csv", _site(root, header), SITE_SPLIT)


def _nih(root: Path) -> list[LabelledImage]:
    out = []
    for r in read_records(root):
        present = {NIH_TO_FINDING[x] for x in r.labels if x in NIH_TO_FINDING}
        ref = {f: f in present for f in set(NIH_TO_FINDING.values())}
        out.append(LabelledImage(r.path, r.patient, ref, r.view))
    return out


def _site(root: Path, header: list[str]) -> list[LabelledImage]:
    if "path" not in header or "patient" not in header:
        raise DatasetError(f"{root / 'labels.csv'}: needs columns path and patient")
    cols = [Finding(h) for h in header if h in {f.value for f in Finding}]
    if not cols:
        raise DatasetError(
            f"{root / 'labels.csv'}: no finding columns (expected ontology names such as "
            "pleural_effusion, holding 1, 0 or blank)"
        )
    out = []
    with (root / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            ref = {}
            for f in cols:
                v = (row.get(f.value) or "").strip()
                if v in ("1", "1.0", "0", "0.0"):
                    ref[f] = v.startswith("1")
            out.append(LabelledImage(root / row["path"], str(row["patient"]), ref))
    return out


def load_image(record: LabelledImage) -> DecodedImage:
    """The image at full bit depth (PNG/JPEG/DICOM through the upload decoder)."""
    from rag.adapters.image_io import decode_image

    return decode_image(record.path.read_bytes())


def load_plain(record: LabelledImage) -> DecodedImage:
    """A small 8-bit PNG read directly (faster than the upload decoder for nih1000)."""
    with Image.open(record.path) as im:
        return DecodedImage(pixels=np.asarray(im.convert("L")), source="png")


def reference_matrix(records: list[LabelledImage], findings: list[Finding]) -> np.ndarray:
    """(n, findings) float targets: 1 present, 0 absent, NaN not labelled."""
    y = np.full((len(records), len(findings)), np.nan, dtype=np.float64)
    for i, r in enumerate(records):
        for j, f in enumerate(findings):
            if f in r.reference:
                y[i, j] = float(r.reference[f])
    return y


def write_split(folder: Path, data: LabelledFolder, used: dict[str, int]) -> None:
    """Record in the encoder folder which split of which data fitted what."""
    record = {
        "data": data.root.name,  # the folder name only: no machine paths in a model folder
        "data_sha256": data.digest(),
        "dataset_kind": data.kind,
        **data.split.to_json(),
        "roles": {
            "calibrate": "calibration.json Platt scaling and bands; ood.json threshold",
            "certify": "guard_calibration.json (Learn-then-Test), disjoint from calibrate",
            "test": "radrag encoder evaluate",
        },
        "images": used,
    }
    (folder / SPLIT_FILE).write_text(json.dumps(record, indent=1) + "\n")


def read_split(folder: Path) -> PatientSplit | None:
    """The split recorded in an encoder folder, or None."""
    path = folder / SPLIT_FILE
    return PatientSplit.from_json(json.loads(path.read_text())) if path.is_file() else None
