"""Labelled folders (NIH and site CSV), the three-way patient split, full bit depth, the loss."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rag.adapters.image_io import decode_image
from rag.adapters.labelled_images import (
    NIH_SPLIT,
    SITE_SPLIT,
    DatasetError,
    open_folder,
    reference_matrix,
)
from rag.adapters.nih_images import patient_split
from rag.domain import Finding
from rag.evaluation.guard_calibration import sentence_loss
from rag.labeler import RuleLabeler
from tests.dicom_factory import make_dicom

pytestmark = pytest.mark.unit


def test_nih_split_refines_the_project_split() -> None:
    for i in range(500):
        pid = str(i)
        old, new = patient_split(pid), NIH_SPLIT.name(pid)
        assert old == {"calibrate": "valid", "certify": "valid"}.get(new, new)


def test_site_split_is_three_way_and_disjoint() -> None:
    names = [SITE_SPLIT.name(f"p{i}") for i in range(3000)]
    assert set(names) == {"calibrate", "certify", "test"}
    share = names.count("certify") / len(names)
    assert 0.25 < share < 0.35


def _site(root: Path, rows: list[list[str]], header: list[str]) -> Path:
    root.mkdir()
    for r in rows:
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / r[0])
    with (root / "labels.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return root


def test_site_csv_blank_and_uncertain_are_not_labelled(tmp_path: Path) -> None:
    rows = [["a.png", "1", "1", ""], ["b.png", "2", "0", "-1"], ["c.png", "3", "", "1.0"]]
    folder = open_folder(_site(tmp_path / "s", rows, ["path", "patient", "edema", "fracture"]))
    assert folder.kind == "csv"
    refs = [r.reference for r in folder.records]
    assert refs == [
        {Finding.edema: True},
        {Finding.edema: False},
        {Finding.fracture: True},
    ]
    y = reference_matrix(folder.records, [Finding.edema, Finding.fracture])
    assert np.isnan(y[0, 1]) and y[1, 0] == 0 and y[2, 1] == 1


def test_site_csv_without_finding_columns_is_refused(tmp_path: Path) -> None:
    root = _site(tmp_path / "s", [["a.png", "1", "x"]], ["path", "patient", "Effusion"])
    with pytest.raises(DatasetError, match="no finding columns"):
        open_folder(root)


def test_sixteen_bit_png_keeps_full_depth_in_intensity() -> None:
    arr = np.tile(np.arange(1000, 1200, dtype=np.uint16), (4, 1))  # < 1 step of 8 bits apart
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    im = decode_image(buf.getvalue())
    assert im.intensity is not None and len(np.unique(im.intensity)) == 200
    assert im.unit()[0, 0] == 0.0 and im.unit()[0, -1] == 1.0


def test_sixteen_bit_dicom_keeps_full_depth_after_the_luts() -> None:
    arr = np.tile(np.linspace(0, 4095, 600), (4, 1)).astype(np.uint16)
    im = decode_image(make_dicom(arr, window=(2048.0, 4096.0)))
    assert im.intensity is not None and len(np.unique(im.intensity)) > 256
    assert im.pixels.dtype == np.uint8  # the 8-bit view stays for display and old readers


def test_loss_counts_stated_contradictions_only() -> None:
    labeler = RuleLabeler()
    truth = {Finding.no_finding: True, Finding.pleural_effusion: False}
    # A hedge says nothing certain; no "no finding" is derived from it.
    assert sentence_loss(["Possible small pleural effusion."], labeler, truth) == 0
    assert sentence_loss(["There is a pleural effusion."], labeler, truth) == 1
    assert sentence_loss(["No pleural effusion.", "Normal heart size."], labeler, truth) == 0
    assert sentence_loss([], labeler, truth) == 0


@pytest.mark.parametrize("split", ["train", "calibrate", "valid"])
def test_certification_refuses_the_splits_that_fitted_something(split: str) -> None:
    from rag.evaluation.guard_calibration import collect

    with pytest.raises(ValueError, match="certify on 'certify'"):
        collect(None, Path("unused"), split)  # type: ignore[arg-type]
