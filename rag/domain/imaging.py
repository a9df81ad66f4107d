"""Frozen models of what the image encoder says about a study."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field

from rag.domain.base import _Frozen
from rag.domain.ontology import Finding, State

ImageSource = Literal["dicom", "png", "jpeg"]


@dataclass(frozen=True)
class DecodedImage:
    """A decoded grayscale image (uint8, H x W) and what its header said about the view.

    `intensity` keeps the source's full bit depth (float32 in [0, 1], after DICOM's
    modality and VOI LUTs) when it had more than 8 bits; encoders read it when present.
    """

    pixels: np.ndarray = field(repr=False)
    source: ImageSource
    view_position: str | None = None
    intensity: np.ndarray | None = field(default=None, repr=False)

    def unit(self) -> np.ndarray:
        """Grayscale float32 in [0, 1] at the best bit depth available."""
        if self.intensity is not None:
            return self.intensity
        return self.pixels.astype(np.float32) / 255.0


class Band(_Frozen):
    """Calibrated thresholds: absent below `absent_below`, present at or above `present_at`."""

    absent_below: float = Field(ge=0.0, le=1.0)
    present_at: float = Field(ge=0.0, le=1.0)

    def state(self, probability: float) -> State:
        """The label state a calibrated probability falls in."""
        if probability >= self.present_at:
            return State.present
        if probability < self.absent_below:
            return State.absent
        return State.uncertain


class ImageScores(_Frozen):
    """One image through an encoder: calibrated probabilities and an OOD score."""

    probabilities: dict[Finding, float]
    bands: dict[Finding, Band]
    # Higher is further from the training distribution; None when the encoder has no OOD model.
    ood_score: float | None = None
    ood_threshold: float | None = None
    encoder: str


class FindingEstimate(_Frozen):
    """A finding's calibrated probability and the band it falls in."""

    probability: float = Field(ge=0.0, le=1.0)
    state: State


class ImageEncoding(_Frozen):
    """The encoder's answer for a study (one or more images)."""

    findings: dict[Finding, FindingEstimate]
    not_assessed: tuple[Finding, ...]
    view_positions: tuple[str | None, ...]
    ood_scores: tuple[float | None, ...]
    ood_threshold: float | None
    out_of_distribution: bool
    ood_reason: str | None = None
    encoder: str
