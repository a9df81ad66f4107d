"""Per-encoder input conversion from a decoded image's full-depth intensity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from rag.domain import DecodedImage

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
XRV_RANGE = 1024.0  # torchxrayvision's models read intensities in [-1024, 1024]


def center_square(a: np.ndarray) -> np.ndarray:
    """Crop the longer side to a centred square (torchxrayvision's XRayCenterCrop)."""
    h, w = a.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return a[top : top + s, left : left + s]


def resized(unit: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a float32 image to size x size (no 8-bit round trip)."""
    if unit.shape == (size, size):
        return unit.astype(np.float32)
    im = Image.fromarray(unit.astype(np.float32), mode="F")
    return np.asarray(im.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def xrv_batch(images: Sequence[DecodedImage], size: int) -> np.ndarray:
    """(n, 1, size, size) in [-1024, 1024]: one channel, centre crop, resize."""
    out = [resized(center_square(im.unit()), size) for im in images]
    return ((np.stack(out) * 2.0 - 1.0) * XRV_RANGE)[:, None].astype(np.float32)


def imagenet_batch(images: Sequence[DecodedImage], size: int) -> np.ndarray:
    """(n, 3, size, size): grey replicated to RGB, ImageNet mean/std (CheXNet's input)."""
    grey = np.stack([resized(im.unit(), size) for im in images])[:, None]
    rgb = np.repeat(grey, 3, axis=1)
    return ((rgb - IMAGENET_MEAN[None, :, None, None]) / IMAGENET_STD[None, :, None, None]).astype(
        np.float32
    )


def at_native(unit: np.ndarray, native: int) -> np.ndarray:
    """(native, native) float32 in [0, 1]: the resolution a model was trained at, reached as
    nih1000 was made (Lanczos from full resolution). A model trained on 64 px films saw 64 px
    of information; a sharper full-resolution input would be a distribution shift."""
    if unit.shape == (native, native):
        return unit.astype(np.float32)
    im = Image.fromarray(unit.astype(np.float32), mode="F")
    im = im.resize((native, native), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
