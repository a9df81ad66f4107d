"""Out-of-distribution from pixels alone: laterals, paediatric films, non-chest pictures.

PNG and JPEG uploads carry no DICOM header, so the view and body part must be read from
the image. A small thumbnail (the film's layout: lungs, mediastinum, diaphragm) plus the
intensity histogram is compared with the adult frontal films the encoder was calibrated
on, by Mahalanobis distance on their leading principal axes. It does not depend on the
encoder kind; the encoder's own feature distance is combined with it (either flags).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.adapters.image_encoders.preprocess import resized
from rag.domain import DecodedImage
from rag.encoder.calibration import fit_projected_gaussian, projected_distance, stored

THUMB = 16
BINS = 16
DIMS = 32


def pixel_features(images: Sequence[DecodedImage]) -> np.ndarray:
    """(n, THUMB*THUMB + BINS): a standardised thumbnail and the intensity histogram."""
    rows = []
    for im in images:
        u = im.unit()
        t = resized(u, THUMB).ravel()
        t = (t - t.mean()) / (t.std() + 1e-6)  # layout, not exposure
        hist, _ = np.histogram(u, bins=BINS, range=(0.0, 1.0))
        rows.append(np.r_[t, 4.0 * hist / max(1, u.size)])
    return np.asarray(rows, dtype=np.float64)


def fit_pixel_model(images: Sequence[DecodedImage]) -> dict[str, object]:
    """Projection, mean and precision of in-distribution pixel features."""
    return {"thumbnail": THUMB} | stored(*fit_projected_gaussian(pixel_features(images), DIMS))


def pixel_distance(model: dict, images: Sequence[DecodedImage]) -> np.ndarray:
    """Mahalanobis distance of each image's pixel features to the fitted model."""
    return projected_distance(model, pixel_features(images))
