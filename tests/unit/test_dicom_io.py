"""DICOM decoding: LUTs, windowing, inversion, header checks and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from rag.adapters.image_io import ImageDecodeError, decode_image
from tests.dicom_factory import gradient, make_dicom

pytestmark = pytest.mark.unit


def _refused(data: bytes) -> ImageDecodeError:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data)
    return info.value


def test_sixteen_bit_monochrome2_keeps_orientation_and_view() -> None:
    im = decode_image(make_dicom(gradient(), view="AP"))
    assert im.source == "dicom" and im.view_position == "AP"
    assert im.pixels.dtype == np.uint8 and im.pixels[0, 0] == 0 and im.pixels[0, -1] == 255


def test_monochrome1_is_inverted() -> None:
    im = decode_image(make_dicom(gradient(), photometric="MONOCHROME1"))
    assert im.pixels[0, 0] == 255 and im.pixels[0, -1] == 0


def test_negative_rescale_slope_is_applied() -> None:
    im = decode_image(make_dicom(gradient(), slope=-1.0, intercept=4095.0))
    assert im.pixels[0, 0] == 255 and im.pixels[0, -1] == 0


def test_window_clips_outside_values() -> None:
    im = decode_image(make_dicom(gradient(w=200), window=(2000.0, 400.0)))
    row = im.pixels[0]
    # Below the window is black, above it white; only the window's span is graded.
    assert row[0] == 0 and row[-1] == 255
    graded = np.count_nonzero((row > 0) & (row < 255))
    assert 0 < graded < 40


def test_eight_bit_dicom_decodes() -> None:
    im = decode_image(make_dicom(np.tile(np.arange(64, dtype=np.uint8), (8, 1))))
    assert im.pixels[0, -1] == 255


def test_no_view_position_is_none() -> None:
    assert decode_image(make_dicom(gradient(), view=None)).view_position is None


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({"frames": 3}, 422, "multi-frame"),
        ({"modality": "CT"}, 422, "modality CT"),
        ({"modality": "MR"}, 422, "modality MR"),
        ({"body_part": "KNEE"}, 422, "body part"),
        ({"photometric": "RGB"}, 422, "photometric"),
        ({"rows_cols": (50_000, 50_000)}, 413, "limit"),
    ],
)
def test_refusals_say_why(kwargs: dict, status: int, words: str) -> None:
    err = _refused(make_dicom(gradient(), **kwargs))
    assert err.status == status and words in err.message


def test_dicom_without_pixels_is_415() -> None:
    err = _refused(make_dicom(None))
    assert err.status == 415 and "no image" in err.message


def test_truncated_pixel_data_is_400() -> None:
    data = make_dicom(gradient())
    err = _refused(data[: len(data) - 1000])
    assert err.status == 400 and "truncated" in err.message


def test_patient_name_is_not_in_error_messages() -> None:
    err = _refused(make_dicom(gradient(), modality="CT"))
    assert "Synthetic" not in err.message


@pytest.mark.parametrize(
    "kwargs",
    [{"modality": "DX^DOE"}, {"body_part": "CHEST DOE^JOHN ID 4402"}],
    ids=["modality", "body_part"],
)
def test_header_values_that_are_not_code_strings_are_corrupt_and_never_quoted(
    kwargs: dict,
) -> None:
    err = _refused(make_dicom(gradient(), **kwargs))
    assert err.status == 400 and "not a valid code string" in err.message
    assert "DOE" not in err.message.upper()


@pytest.mark.parametrize("view", ["AP-PORTABLE", "pa/doe^john"])
def test_a_view_that_is_not_a_code_string_is_unknown_not_refused(view: str) -> None:
    # The view is only a hint: a vendor's "AP-PORTABLE" must not cost the study, and a
    # value that may hold swallowed patient tags is dropped, not echoed.
    im = decode_image(make_dicom(gradient(), view=view))
    assert im.view_position is None and im.pixels.size > 0
