"""Each kind's input is built from the full-depth intensity, in that kind's own range."""

from __future__ import annotations

import numpy as np
import pytest

from rag.adapters.image_encoders.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    imagenet_batch,
    xrv_batch,
)
from rag.adapters.image_io import decode_image
from tests.dicom_factory import make_dicom

pytestmark = pytest.mark.unit


def _dicom(width: int = 300):
    arr = np.tile(np.linspace(0, 4095, width), (200, 1)).astype(np.uint16)  # 200 high
    return decode_image(make_dicom(arr))


def test_torchxrayvision_input_is_one_channel_in_its_range_from_full_depth() -> None:
    im = _dicom(width=200)
    x = xrv_batch([im], 224)
    assert x.shape == (1, 1, 224, 224) and x.dtype == np.float32
    assert -1024.0 <= x.min() < -1000 and 1000 < x.max() <= 1024.0
    # Finer steps than 8 bits would give: the 16-bit depth reached the model.
    assert len(np.unique(x[0, 0, 0])) > 200


def test_chexnet_input_is_imagenet_normalised_rgb() -> None:
    im = _dicom()
    x = imagenet_batch([im], 224)
    assert x.shape == (1, 3, 224, 224)
    lo = (0.0 - IMAGENET_MEAN) / IMAGENET_STD
    hi = (1.0 - IMAGENET_MEAN) / IMAGENET_STD
    for c in range(3):
        assert x[0, c].min() == pytest.approx(lo[c], abs=0.02)
        assert x[0, c].max() == pytest.approx(hi[c], abs=0.02)


def test_centre_crop_keeps_the_middle_of_a_wide_film() -> None:
    im = _dicom(width=300)  # the crop drops 50 columns each side before resizing
    x = xrv_batch([im], 100)
    assert x[0, 0, 0, 0] > -1024 + 2048 * 0.15 and x[0, 0, 0, -1] < 1024 - 2048 * 0.15
