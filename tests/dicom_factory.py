"""Build synthetic DICOM files in memory with pydicom (test helper)."""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DX_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.1"


def make_dicom(
    pixels: np.ndarray | None = None,
    *,
    modality: str = "DX",
    photometric: str = "MONOCHROME2",
    view: str | None = "PA",
    slope: float | None = None,
    intercept: float | None = None,
    window: tuple[float, float] | None = None,
    frames: int = 1,
    body_part: str | None = "CHEST",
    rows_cols: tuple[int, int] | None = None,
    tags: dict[str, str] | None = None,
) -> bytes:
    """A DICOM Part-10 byte string; 16-bit unless pixels are uint8; `tags` by keyword."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_SOP_CLASS
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = DX_SOP_CLASS
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Test^Synthetic"
    ds.Modality = modality
    if body_part is not None:
        ds.BodyPartExamined = body_part
    if view is not None:
        ds.ViewPosition = view
    if pixels is not None:
        arr = np.ascontiguousarray(pixels)
        bits = 8 if arr.dtype == np.uint8 else 16
        if frames > 1:
            ds.NumberOfFrames = frames
            arr = np.stack([arr] * frames)
        ds.Rows, ds.Columns = rows_cols or pixels.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated = bits
        ds.BitsStored = bits
        ds.HighBit = bits - 1
        ds.PixelRepresentation = 0
        ds.PixelData = arr.astype(np.uint8 if bits == 8 else np.uint16).tobytes()
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept or 0.0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    for keyword, value in (tags or {}).items():
        setattr(ds, keyword, value)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def gradient(h: int = 64, w: int = 48, top: int = 4095) -> np.ndarray:
    """A left-to-right 16-bit ramp (dark at column 0)."""
    return np.tile(np.linspace(0, top, w), (h, 1)).astype(np.uint16)
