"""Decode a DICOM chest radiograph: header checks first, then pixels, LUTs and windowing."""

from __future__ import annotations

import io
import logging
import math
import re
import warnings

import numpy as np
from pydicom import config as dicom_config
from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from rag.adapters.image_io import (
    DEFAULT_MAX_PIXELS,
    MAX_SIDE,
    ImageDecodeError,
    deep,
    shrink,
    to_unit,
)
from rag.domain import DecodedImage

# pydicom's validation warnings quote element values (names, institutions): never log them.
dicom_config.settings.reading_validation_mode = dicom_config.IGNORE
# Its other warnings and log records can quote values too: a corrupt file's "character set"
# may be the patient's name ("Unknown encoding 'DOE^JANE'"). Uploads' problems reach the
# caller as 4xx in this module's own words, so pydicom's stay out of the service's output
# (its records stop at its own logger; its warnings are ignored, see _quiet_pydicom).
logging.getLogger("pydicom").propagate = False

# Projection radiography; CT, MR, US, NM and the rest are not chest X-rays.
XRAY_MODALITIES = frozenset({"CR", "DX", "RG"})
CHEST_PARTS = frozenset({"", "CHEST", "THORAX", "LUNG", "PORT CHEST"})
MONOCHROME = frozenset({"MONOCHROME1", "MONOCHROME2"})
# The DICOM Code String and UID value grammars. Header values are quoted in error messages
# and responses only when they fit: a corrupt length field makes pydicom read the elements
# that follow (patient name and ID, institution, physician) into the value it is reading.
_CODE_STRING = re.compile(r"[A-Z0-9 _]{0,16}")
_UID = re.compile(r"[0-9.]{1,64}")


def _code(ds, keyword: str) -> str:  # ds: pydicom.Dataset
    """A Code String attribute (Modality, ViewPosition...), stripped and upper-cased."""
    value = str(ds.get(keyword, "") or "").strip().upper()
    if not _CODE_STRING.fullmatch(value):
        raise ImageDecodeError(
            400, f"the DICOM header is corrupt ({keyword} is not a valid code string)"
        )
    return value


def _quiet_pydicom() -> None:
    """Ignore pydicom's warnings; at every decode, since a catch_warnings() block that was
    open when this module was imported (pytest opens one per test) drops filters on exit."""
    warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")


def _header(data: bytes):  # -> pydicom.Dataset
    _quiet_pydicom()
    try:
        return dcmread(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ImageDecodeError(
            400, f"the DICOM header is unreadable ({type(exc).__name__})"
        ) from None


def check_header(ds, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Refuse what is not a single-frame chest radiograph, before any pixel is decoded."""
    modality = _code(ds, "Modality")
    if modality and modality not in XRAY_MODALITIES:
        raise ImageDecodeError(
            422, f"modality {modality} is not a radiograph (expected CR or DX chest X-ray)"
        )
    part = _code(ds, "BodyPartExamined")
    if part not in CHEST_PARTS:
        raise ImageDecodeError(422, f"body part {part} is not the chest")
    if "Rows" not in ds or "Columns" not in ds:
        raise ImageDecodeError(415, "the DICOM object carries no image (no Rows/Columns)")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames != 1:
        raise ImageDecodeError(
            422, f"multi-frame DICOM ({frames} frames) is not supported; send one frame per file"
        )
    rows, cols = int(ds.Rows), int(ds.Columns)
    if rows < 1 or cols < 1 or rows * cols > max_pixels:
        raise ImageDecodeError(
            413, f"image is {cols} x {rows} pixels; the limit is {max_pixels} pixels"
        )
    photometric = _code(ds, "PhotometricInterpretation")
    if photometric not in MONOCHROME:
        raise ImageDecodeError(
            422, f"photometric interpretation {photometric or 'missing'} is not a grayscale X-ray"
        )
    bits = int(ds.get("BitsAllocated", 0) or 0)
    if bits not in (8, 16, 32):
        raise ImageDecodeError(422, f"{bits} bits allocated is not supported")


def window(ds, arr: np.ndarray) -> np.ndarray:
    """Rescale slope/intercept, then the VOI LUT or window the header gives."""
    out = apply_modality_lut(arr, ds)
    if "VOILUTSequence" in ds or "WindowCenter" in ds:
        out = apply_voi_lut(out, ds, index=0)
    return np.asarray(out, dtype=np.float32)


def decode_dicom(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode one DICOM radiograph to uint8 grayscale (MONOCHROME1 inverted)."""
    ds = _header(data)
    try:
        check_header(ds, max_pixels)
    except ImageDecodeError:
        raise
    except (ValueError, TypeError):
        raise ImageDecodeError(400, "the DICOM header has malformed image attributes") from None
    try:
        full = dcmread(io.BytesIO(data))
        arr = full.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        syntax = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", ""))
        if not _UID.fullmatch(syntax):
            syntax = "unreadable"
        raise ImageDecodeError(
            415, f"cannot decode DICOM pixel data (transfer syntax {syntax}): {type(exc).__name__}"
        ) from None
    except (ValueError, EOFError, AttributeError, KeyError, OSError, TypeError) as exc:
        raise ImageDecodeError(
            400, f"the DICOM pixel data is truncated or corrupt ({type(exc).__name__})"
        ) from None
    if arr.ndim != 2:
        raise ImageDecodeError(422, f"expected one grayscale frame, got shape {arr.shape}")
    # Subsample before the LUTs (they work in float64): a 3000 x 3000 frame would otherwise
    # cost ~70 MB per copy, and the encoder only ever sees a few hundred pixels a side.
    step = max(1, math.ceil(max(arr.shape) / (2 * MAX_SIDE)))
    arr = arr[::step, ::step]
    unit = to_unit(window(full, arr))
    del arr
    if _code(full, "PhotometricInterpretation") == "MONOCHROME1":
        # MONOCHROME1 stores air as bright; the encoder expects air dark.
        unit = 1.0 - unit
    if int(full.get("BitsStored", 8) or 8) <= 8:
        return DecodedImage(
            pixels=shrink((unit * 255.0).round().astype(np.uint8)),
            source="dicom",
            view_position=_view(full),
        )
    return deep(unit, "dicom", _view(full))


def _view(ds) -> str | None:  # ds: pydicom.Dataset
    """ViewPosition, or None when absent or not a code string ("AP-PORTABLE", or a value
    a corrupt length swallowed): it is only a hint, so the study is not refused over it,
    and an unknown view is never quoted."""
    value = str(ds.get("ViewPosition", "") or "").strip().upper()
    return value if value and _CODE_STRING.fullmatch(value) else None
