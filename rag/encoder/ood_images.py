"""Synthetic non-chest images for out-of-distribution evaluation (deterministic)."""

from __future__ import annotations

import numpy as np

from rag.domain import DecodedImage


def synthetic_non_chest(n_each: int = 4, size: int = 256, seed: int = 0) -> list[DecodedImage]:
    """Noise, gradients, checkerboards, discs, stripes and flat fields: nothing like a chest."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out: list[np.ndarray] = []
    for k in range(n_each):
        out.append(rng.integers(0, 256, (size, size)))
        out.append(255 * (xx * np.cos(k) + yy * np.sin(k)) % 256)
        cells = 4 + 4 * k
        out.append(255 * ((np.floor(xx * cells) + np.floor(yy * cells)) % 2))
        r = np.hypot(xx - rng.uniform(0.3, 0.7), yy - rng.uniform(0.3, 0.7))
        out.append(np.where(r < rng.uniform(0.1, 0.4), 230, 20) + rng.normal(0, 10, r.shape))
        out.append(127 + 120 * np.sin(2 * np.pi * (3 + 5 * k) * xx))
        out.append(np.full((size, size), 40 + 60 * k))
    return [DecodedImage(pixels=np.clip(a, 0, 255).astype(np.uint8), source="png") for a in out]


def lateral_like(images: list[DecodedImage]) -> list[DecodedImage]:
    """Lateral-view stand-ins made from frontal films (NIH has no laterals): one half of
    the chest stretched to full width, and the film turned on its side."""
    from PIL import Image

    out = []
    for im in images:
        h, w = im.pixels.shape
        half = Image.fromarray(im.pixels[:, : w // 2]).resize((w, h), Image.Resampling.BILINEAR)
        out.append(DecodedImage(pixels=np.asarray(half), source="png"))
        out.append(DecodedImage(pixels=np.ascontiguousarray(np.rot90(im.pixels)), source="png"))
    return out
