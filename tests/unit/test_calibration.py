"""Calibration maths against hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest

from rag.encoder.calibration import (
    auroc,
    ece,
    fit_band,
    fit_gaussian,
    fit_platt,
    mahalanobis,
    sigmoid,
)

pytestmark = pytest.mark.unit


def test_auroc_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    assert auroc(np.array([0.1, 0.2, 0.3, 0.4]), y) == 1.0
    assert auroc(np.array([0.4, 0.3, 0.2, 0.1]), y) == 0.0
    assert auroc(np.array([0.5, 0.5, 0.5, 0.5]), y) == 0.5
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), y) == 0.75
    assert auroc(np.array([0.1, 0.2]), np.array([1, 1])) is None


def test_ece_zero_when_calibrated_and_large_when_not() -> None:
    p = np.array([0.0, 0.0, 1.0, 1.0])
    assert ece(p, np.array([0, 0, 1, 1])) == 0.0
    assert ece(p, np.array([1, 1, 0, 0])) == 1.0


def test_platt_undoes_a_shift_that_a_temperature_cannot() -> None:
    rng = np.random.default_rng(0)
    true_logit = rng.normal(-2.0, 1.5, 5000)
    y = (rng.random(5000) < sigmoid(true_logit)).astype(float)
    seen = true_logit * 2.0 + 3.0  # 2x overconfident and shifted towards "present"
    scale, bias = fit_platt(seen, y)
    assert 0.4 < scale < 0.6 and -1.8 < bias < -1.2
    # The best a temperature alone can do (NLL over a grid, as calibration once did).
    grid = np.exp(np.linspace(np.log(0.2), np.log(10.0), 200))
    p = np.clip(sigmoid(seen[None, :] / grid[:, None]), 1e-7, 1 - 1e-7)
    t = grid[np.argmin(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1))]
    assert ece(sigmoid(seen * scale + bias), y) < 0.02 < ece(sigmoid(seen / t), y)


def test_platt_without_positives_keeps_the_ranking_and_a_small_probability() -> None:
    logits = np.linspace(-1.0, 3.0, 70)
    scale, bias = fit_platt(logits, np.zeros(70))
    assert scale == 1.0
    p = sigmoid(logits * scale + bias)
    assert 0.005 < p.mean() < 0.05  # Platt's smoothed target 1/72, not 0


def test_band_orders_thresholds_and_falls_back() -> None:
    rng = np.random.default_rng(1)
    p = np.r_[rng.uniform(0, 0.6, 100), rng.uniform(0.3, 1.0, 30)]
    y = np.r_[np.zeros(100), np.ones(30)]
    lo, hi = fit_band(p, y)
    assert 0 <= lo <= hi <= 1 and hi >= 0.5
    assert fit_band(np.array([0.1, 0.9]), np.array([0, 1])) == (0.1, 0.9)


def test_mahalanobis_separates_far_points() -> None:
    rng = np.random.default_rng(2)
    feats = rng.normal(0, 1, (500, 8))
    mu, prec = fit_gaussian(feats)
    near = mahalanobis(feats[:10], mu, prec)
    far = mahalanobis(feats[:10] + 10.0, mu, prec)
    assert (far > near + 5).all()
