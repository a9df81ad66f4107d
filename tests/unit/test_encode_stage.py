"""The encode stage: bands, study combination, consistency and OOD abstention."""

from __future__ import annotations

import numpy as np
import pytest

from rag.domain import Band, DecodedImage, Finding, ImageScores, State
from rag.stages.encode import combine, label_set, ood_abstention
from tests.image_fakes import BAND

pytestmark = pytest.mark.unit

F = Finding


def _scores(probs: dict[Finding, float], ood: float | None = 1.0) -> ImageScores:
    return ImageScores(
        probabilities=probs,
        bands={f: BAND for f in probs},
        ood_score=ood,
        ood_threshold=None if ood is None else 5.0,
        encoder="t",
    )


def test_band_states() -> None:
    band = Band(absent_below=0.2, present_at=0.7)
    assert band.state(0.1) is State.absent
    assert band.state(0.2) is State.uncertain
    assert band.state(0.69) is State.uncertain
    assert band.state(0.7) is State.present


def test_uncertain_keeps_probability_and_unassessed_are_left_out() -> None:
    enc = combine([_scores({F.edema: 0.5, F.pneumothorax: 0.05, F.no_finding: 0.1})], ["PA"])
    labels = label_set(enc)
    assert labels.findings[F.edema].state is State.uncertain
    assert labels.findings[F.edema].probability == 0.5
    assert labels.state_of(F.pneumothorax) is State.absent
    assert F.fracture in enc.not_assessed and labels.state_of(F.fracture) is None
    assert ood_abstention(enc) is None


def test_images_of_a_study_are_averaged() -> None:
    enc = combine([_scores({F.edema: 0.9}), _scores({F.edema: 0.3})], ["PA", "AP"])
    assert enc.findings[F.edema].probability == pytest.approx(0.6)
    assert enc.findings[F.edema].state is State.uncertain


@pytest.mark.parametrize(
    ("other", "expected"),
    [(0.9, State.absent), (0.5, State.uncertain), (0.05, State.present)],
)
def test_no_finding_yields_to_other_findings(other: float, expected: State) -> None:
    enc = combine([_scores({F.no_finding: 0.95, F.cardiomegaly: other})], [None])
    assert enc.findings[F.no_finding].state is expected
    label_set(enc)  # a LabelSet that validates


def test_high_ood_score_abstains_with_the_reason_code() -> None:
    enc = combine([_scores({F.edema: 0.5}), _scores({F.edema: 0.5}, ood=9.0)], ["PA", "PA"])
    reason = ood_abstention(enc)
    assert enc.out_of_distribution and reason is not None
    assert reason.code == "image_out_of_distribution" and "images[1]" in reason.message


def test_lateral_view_abstains_even_with_a_low_score() -> None:
    enc = combine([_scores({F.edema: 0.5})], ["LL"])
    reason = ood_abstention(enc)
    assert reason is not None and "not frontal" in reason.message


def test_no_ood_model_means_no_ood_abstention() -> None:
    enc = combine([_scores({F.edema: 0.5}, ood=None)], ["PA"])
    assert not enc.out_of_distribution


def test_empty_study_is_an_error() -> None:
    with pytest.raises(ValueError):
        combine([], [])


def test_decoded_image_holds_pixels() -> None:
    im = DecodedImage(pixels=np.zeros((2, 2), dtype=np.uint8), source="png")
    assert im.view_position is None
