"""Learn-then-Test threshold choice and the confidence abstention rule."""

from __future__ import annotations

import pytest

from rag.domain import Finding, FindingLabel, LabelSet, State
from rag.evaluation.risk_control import binom_cdf, learn_then_test
from rag.stages.confidence import low_confidence_reasons, report_confidence

pytestmark = pytest.mark.unit


def test_binomial_cdf_matches_hand_values() -> None:
    assert binom_cdf(0, 3, 0.5) == pytest.approx(0.125)
    assert binom_cdf(1, 3, 0.5) == pytest.approx(0.5)
    assert binom_cdf(3, 3, 0.2) == pytest.approx(1.0)


def test_ltt_picks_the_largest_safe_coverage() -> None:
    # 100 confident reports without errors (score 0.9), 20 shaky ones all wrong (0.1).
    scores = [0.9] * 100 + [0.1] * 20
    losses = [0] * 100 + [1] * 20
    cal = learn_then_test(scores, losses, alpha=0.05, delta=0.1)
    # At 0.9: n=100, k=0, p = 0.95**100 = 0.0059 <= 0.1 -> certified.
    # At 0.1: n=120, k=20 -> risk 0.17, p ~ 1 -> stop.
    assert cal.threshold == 0.9
    assert cal.coverage == pytest.approx(100 / 120)
    assert cal.risk == 0.0 and cal.p_value == pytest.approx(0.95**100)


def test_ltt_refuses_when_the_sample_is_too_small() -> None:
    # 20 error-free reports: p = 0.95**20 = 0.36 > 0.1, nothing can be certified.
    cal = learn_then_test([0.9] * 20, [0] * 20, alpha=0.05, delta=0.1)
    assert cal.threshold is None and cal.coverage == 0.0


def test_ltt_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        learn_then_test([0.5], [0, 1])


def _labels(p: float, state: str = "present") -> LabelSet:
    return LabelSet(
        findings={Finding.pleural_effusion: FindingLabel(state=State(state), probability=p)}
    )


def test_findings_in_the_band_abstain_with_a_suggestion() -> None:
    reasons = low_confidence_reasons(_labels(0.55), min_confidence=0.3)
    assert [r.code for r in reasons] == ["finding_in_uncertainty_band"]
    assert "lateral" in reasons[0].suggestion
    assert low_confidence_reasons(_labels(0.91), min_confidence=0.3) == []
    # An uncertain label already says what the probability says.
    assert low_confidence_reasons(_labels(0.55, "uncertain"), min_confidence=0.3) == []
    assert report_confidence(_labels(0.55)) == pytest.approx(0.1)
    assert report_confidence(LabelSet.from_states({"edema": "absent"})) is None


def test_draft_loss_counts_certain_statements_only() -> None:
    from rag.evaluation.guard_calibration import draft_loss

    truth = {Finding.pleural_effusion: True, Finding.edema: False}
    assert draft_loss({Finding.pleural_effusion: State.absent}, truth) == 1
    assert draft_loss({Finding.edema: State.present}, truth) == 1
    assert draft_loss({Finding.edema: State.uncertain, Finding.fracture: State.present}, truth) == 0


def test_image_path_abstains_unless_certified() -> None:
    from rag.imaging_pipeline import uncertified

    labels = _labels(0.97)
    assert uncertified(None, labels).code == "encoder_not_certified"  # fails closed
    no = {"certified": False, "alpha": 0.05, "risk_without_threshold": 0.61, "threshold": None}
    assert uncertified(no, labels).code == "risk_not_certified"
    yes = {"certified": True, "alpha": 0.05, "risk_without_threshold": 0.2, "threshold": 0.9}
    assert uncertified(yes, labels) is None  # confidence 0.94 clears 0.9
    assert uncertified(yes, _labels(0.9)).code == "low_image_confidence"  # 0.8 < 0.9
