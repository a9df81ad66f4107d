"""A deterministic ImageEncoder for unit tests (implements rag.ports.ImageEncoder)."""

from __future__ import annotations

from rag.domain import Band, DecodedImage, Finding, ImageScores

BAND = Band(absent_below=0.2, present_at=0.7)
# A certification whose threshold lets every confident-enough label set through.
CERTIFIED_OPEN = {"alpha": 0.05, "risk_without_threshold": 0.0, "certified": True, "threshold": 0.0}


class FakeImageEncoder:
    """Scores every image the same way; the OOD score is the image's mean brightness."""

    id = "fake-image-encoder"

    def __init__(self, probabilities: dict[Finding, float], ood_threshold: float = 200.0) -> None:
        self.probabilities = probabilities
        self.ood_threshold = ood_threshold
        self.calls = 0
        # Ready and certified unless a test says otherwise (the real gate fails closed).
        self.missing: tuple[tuple[str, str], ...] = ()
        self.guard_calibration: dict | None = dict(CERTIFIED_OPEN)

    def encode(self, image: DecodedImage) -> ImageScores:
        """Fixed probabilities; brighter-than-threshold images count as out of distribution."""
        self.calls += 1
        return ImageScores(
            probabilities=dict(self.probabilities),
            bands={f: BAND for f in self.probabilities},
            ood_score=float(image.pixels.mean()),
            ood_threshold=self.ood_threshold,
            encoder=self.id,
        )
