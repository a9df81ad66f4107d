"""Decoding uploads: good images decode; hostile or broken files get a clear 4xx status."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from rag.adapters.image_io import MAX_SIDE, ImageDecodeError, decode_image
from tests.dicom_factory import gradient, make_dicom

pytestmark = pytest.mark.unit


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims huge dimensions (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _status(data: bytes, **kw: int) -> int:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data, **kw)
    assert info.value.message
    return info.value.status


def test_png_and_jpeg_decode_to_grayscale() -> None:
    arr = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (32, 1))
    png = decode_image(_png(arr))
    assert png.source == "png" and png.pixels.dtype == np.uint8
    assert np.array_equal(png.pixels, arr)
    rgb = np.stack([arr] * 3, axis=-1)
    jpg = decode_image(_jpeg(rgb))
    assert jpg.source == "jpeg" and jpg.pixels.shape == arr.shape
    assert abs(int(jpg.pixels[0, -1]) - 252) < 8


def test_sixteen_bit_png_keeps_its_range() -> None:
    arr = np.tile(np.linspace(0, 60000, 40), (10, 1)).astype(np.uint16)
    out = decode_image(_png(arr)).pixels
    assert out[0, 0] == 0 and out[0, -1] == 255


def test_large_images_are_shrunk_after_decoding() -> None:
    out = decode_image(_png(np.zeros((1200, 900), dtype=np.uint8))).pixels
    assert max(out.shape) == MAX_SIDE and out.shape[0] > out.shape[1]


def test_format_is_sniffed_not_taken_from_the_name() -> None:
    assert decode_image(make_dicom(gradient())).source == "dicom"
    assert decode_image(_png(np.zeros((8, 8), dtype=np.uint8))).source == "png"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"garbage bytes that are not an image" * 10, 415),
        (b"%PDF-1.7\n" + b"0" * 200, 415),
    ],
)
def test_empty_and_garbage_are_refused(data: bytes, status: int) -> None:
    assert _status(data) == status


def test_decompression_bomb_is_refused_from_its_header() -> None:
    assert _status(_png_header_only(50_000, 50_000)) == 413


def test_pixel_limit_is_a_setting() -> None:
    assert _status(_png(np.zeros((100, 100), dtype=np.uint8)), max_pixels=5000) == 413


def test_truncated_png_and_jpeg_are_400() -> None:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (128, 128), dtype=np.uint8)
    assert _status(_png(noisy)[:300]) == 400
    assert _status(_jpeg(noisy)[:300]) == 400


HEADS = {
    "png": b"\x89PNG\r\n\x1a\n",
    "jpeg": b"\xff\xd8\xff",
    "dicom": b"\x00" * 128 + b"DICM",
    "raw": b"",
}


def _outcome(data: bytes) -> None:
    try:
        decode_image(data)
    except ImageDecodeError as exc:
        assert 400 <= exc.status < 500


@pytest.mark.parametrize("prefix", sorted(HEADS))
def test_hostile_bytes_never_escape_as_other_errors(prefix: str) -> None:
    """Valid magic followed by random bytes: an image or an ImageDecodeError, nothing else."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        tail = rng.integers(0, 256, int(rng.integers(0, 2048)), dtype=np.uint8).tobytes()
        _outcome(HEADS[prefix] + tail)


@pytest.mark.parametrize("kind", ["png", "jpeg", "dicom"])
def test_byte_flips_in_valid_files_are_4xx_or_decode(kind: str) -> None:
    arr = np.random.default_rng(3).integers(0, 255, (48, 48), dtype=np.uint8)
    valid = {"png": _png(arr), "jpeg": _jpeg(arr), "dicom": make_dicom(gradient())}[kind]
    rng = np.random.default_rng(11)
    for _ in range(40):
        data = bytearray(valid)
        for pos in rng.integers(len(HEADS[kind]), len(data), 4):
            data[int(pos)] = int(rng.integers(0, 256))
        _outcome(bytes(data))
