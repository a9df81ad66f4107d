"""Decode uploaded images (PNG, JPEG, DICOM) safely: sniff, check size, then decode."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from rag.domain import DecodedImage

# Decoded images are kept small: every encoder resizes far below this anyway, and it
# bounds the memory a request can hold after decoding.
MAX_SIDE = 512
DEFAULT_MAX_PIXELS = 40_000_000  # ~6300 x 6300: larger than any plain radiograph

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


class ImageDecodeError(ValueError):
    """An upload that cannot be decoded; `status` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def sniff(data: bytes) -> str:
    """The format by magic bytes (never by file name): 'png', 'jpeg' or 'dicom'."""
    if not data:
        raise ImageDecodeError(400, "the file is empty")
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    raise ImageDecodeError(415, "unrecognised file type: expected DICOM, PNG or JPEG")


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """Min-max scale any numeric 2-D array to uint8 (a flat image becomes all zeros)."""
    a = np.asarray(arr, dtype=np.float32)
    lo, hi = float(a.min()), float(a.max())
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ImageDecodeError(422, "the image has non-finite pixel values")
    if hi <= lo:
        return np.zeros(a.shape, dtype=np.uint8)
    return ((a - lo) * (255.0 / (hi - lo))).round().astype(np.uint8)


def to_unit(arr: np.ndarray) -> np.ndarray:
    """Min-max scale any numeric 2-D array to float32 in [0, 1] (full precision kept)."""
    a = np.asarray(arr, dtype=np.float32)
    lo, hi = float(a.min()), float(a.max())
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ImageDecodeError(422, "the image has non-finite pixel values")
    if hi <= lo:
        return np.zeros(a.shape, dtype=np.float32)
    return (a - lo) / (hi - lo)


def shrink(pixels: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Downscale a uint8 (or float32) image so its longer side is at most max_side."""
    h, w = pixels.shape
    if max(h, w) <= max_side:
        return pixels
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))


def deep(unit: np.ndarray, source: str, view: str | None = None) -> DecodedImage:
    """A high-bit-depth image: 8-bit pixels for display and the full-depth intensity."""
    intensity = shrink(unit.astype(np.float32))
    pixels = (np.clip(intensity, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return DecodedImage(
        pixels=pixels,
        source=source,  # type: ignore[arg-type]
        view_position=view,
        intensity=intensity,
    )


def decode_raster(data: bytes, kind: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode a PNG or JPEG to grayscale, refusing bombs from the header before decoding."""
    # PIL's own guard (it raises at twice this) backs up the explicit check below.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        im = Image.open(io.BytesIO(data), formats=[kind.upper()])  # reads the header only
        w, h = im.size
        if w * h > max_pixels or w < 1 or h < 1:
            raise ImageDecodeError(
                413, f"image is {w} x {h} pixels; the limit is {max_pixels} pixels"
            )
        if kind == "jpeg":
            # Let libjpeg decode at reduced scale: large JPEGs never materialise whole.
            im.draft("L", (MAX_SIDE, MAX_SIDE))
        im.load()
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError:
        raise ImageDecodeError(413, "image dimensions exceed the pixel limit") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(
            400, f"the {kind.upper()} file is truncated or corrupt ({type(exc).__name__})"
        ) from None
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit PNGs keep their depth in `intensity`; 8-bit pixels are for display.
        return deep(to_unit(np.asarray(im)), kind)
    else:
        pixels = np.asarray(im.convert("L"))
    return DecodedImage(pixels=shrink(pixels), source=kind)  # type: ignore[arg-type]


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode DICOM, PNG or JPEG bytes into a grayscale image, or raise ImageDecodeError."""
    kind = sniff(data)
    try:
        if kind == "dicom":
            from rag.adapters.dicom_io import decode_dicom

            return decode_dicom(data, max_pixels=max_pixels)
        return decode_raster(data, kind, max_pixels=max_pixels)
    except ImageDecodeError:
        raise
    except MemoryError:
        raise ImageDecodeError(413, "the image is too large to decode") from None
    except Exception as exc:
        # Decoders fail in many ways on hostile bytes; every one of them is a bad upload.
        raise ImageDecodeError(
            400, f"the {kind.upper()} file could not be decoded ({type(exc).__name__})"
        ) from None
