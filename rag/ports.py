"""Narrow ports between pipeline stages and their adapters (one required method each)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

from rag.domain import (
    DecodedImage,
    DraftSentence,
    Evidence,
    Finding,
    ImageScores,
    LabelSet,
    State,
)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (cosine = inner product)."""

    id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an (n, dim) float32 array with unit rows."""
        ...


class VectorIndex(Protocol):
    """Nearest-neighbour search over stored vectors."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids) for each query row; ids are -1 where fewer exist."""
        ...


class Labeler(Protocol):
    """Reads a sentence and says which findings it asserts, in which state."""

    name: str

    def label(self, sentence: str) -> dict[Finding, State]:
        """Finding states asserted by one sentence."""
        ...


class SentenceCheck(Protocol):
    """A second, independent reader: reasons a sentence is not supported (empty if it is)."""

    name: str

    def check(self, sentence: str, labels: LabelSet) -> tuple[str, ...]:
        """Reason codes against the label set; an empty tuple means supported."""
        ...


class Generator(Protocol):
    """Drafts findings and impression sentences constrained to a label set."""

    name: str

    def generate(
        self,
        labels: LabelSet,
        evidence: dict[Finding, list[Evidence]],
        *,
        indication: str | None = None,
        prior_report: str | None = None,
    ) -> tuple[list[DraftSentence], list[DraftSentence]]:
        """Return (findings sentences, impression sentences); may raise GeneratorError."""
        ...


class ImageEncoder(Protocol):
    """Reads one chest X-ray and gives a calibrated probability per finding it can assess.

    `missing` names the files the encoder lacks to draft (file, command that writes it):
    the image path fails closed on any. `guard_calibration` is its certification.
    """

    id: str
    missing: tuple[tuple[str, str], ...]
    guard_calibration: dict | None

    def encode(self, image: DecodedImage) -> ImageScores:
        """Calibrated per-finding probabilities and an out-of-distribution score."""
        ...


class GeneratorError(RuntimeError):
    """The generator could not produce a draft; the pipeline turns this into an abstention."""

    def __init__(
        self,
        code: Literal["generator_unavailable", "generator_invalid_output"],
        message: str,
        *,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # When retrying is known to be pointless before then (an open circuit breaker).
        self.retry_after_s = retry_after_s
