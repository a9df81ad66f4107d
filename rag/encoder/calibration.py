"""Pure calibration maths: Platt scaling, bands, Mahalanobis OOD, AUROC and ECE."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return np.where(
        x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))
    )


def fit_platt(logits: np.ndarray, y: np.ndarray, min_each: int = 3) -> tuple[float, float]:
    """(scale, bias) of p = sigmoid(scale * logit + bias), fitted by Platt's method.

    A temperature only rescales logits; a model trained with class weights (pos_weight up to
    10 here) is also shifted towards "present", which only a bias can undo. Targets are
    Platt's smoothed ones ((N+ + 1) / (N+ + 2), 1 / (N- + 2)), so a calibrate split with
    few or no positives gives a small probability, not zero. With fewer than `min_each`
    positives or negatives the scale stays 1 (ranking unchanged) and only the bias is fitted.
    """
    from scipy.optimize import minimize

    pos = float(y.sum())
    neg = float(len(y) - pos)
    target = np.where(y == 1, (pos + 1) / (pos + 2), 1 / (neg + 2))
    fit_scale = pos >= min_each and neg >= min_each

    def nll(theta: np.ndarray) -> float:
        a, b = (theta[0], theta[1]) if fit_scale else (1.0, theta[0])
        z = a * logits + b
        # log(1 + e^z) computed stably; NLL of the smoothed targets.
        return float(np.mean(np.logaddexp(0, z) - target * z))

    if fit_scale:
        res = minimize(nll, np.array([1.0, 0.0]), bounds=[(0.05, 5.0), (-20.0, 20.0)])
        return float(res.x[0]), float(res.x[1])
    res = minimize(nll, np.array([0.0]), bounds=[(-20.0, 20.0)])
    return 1.0, float(res.x[0])


def fit_band(p: np.ndarray, y: np.ndarray, sensitivity: float = 0.9, specificity: float = 0.95):
    """(absent_below, present_at): absent keeps ~90% of positives above it, present ~95% of
    negatives below it; probabilities in between are reported as uncertain."""
    pos, neg = p[y == 1], p[y == 0]
    if len(pos) < 3 or len(neg) < 3:
        # Too few validation cases to set a band: everything in [0.1, 0.9) stays uncertain.
        return 0.1, 0.9
    absent_below = float(np.quantile(pos, 1 - sensitivity))
    present_at = float(np.quantile(neg, specificity))
    if absent_below > present_at:  # well separated: no uncertain band is needed
        mid = (absent_below + present_at) / 2
        absent_below = present_at = mid
    # A "present" needs at least an even chance after calibration.
    present_at = max(present_at, 0.5)
    absent_below = min(absent_below, present_at)
    return round(absent_below, 4), round(present_at, 4)


def auroc(scores: np.ndarray, y: np.ndarray) -> float | None:
    """Area under the ROC curve (rank form, ties averaged); None without both classes."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_s = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(total)


def fit_gaussian(features: np.ndarray, shrinkage: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (shrunk) precision matrix of in-distribution features."""
    mu = features.mean(axis=0)
    cov = np.cov(features - mu, rowvar=False)
    cov = (1 - shrinkage) * cov + shrinkage * np.eye(len(mu)) * np.trace(cov) / len(mu)
    return mu, np.linalg.inv(cov)


MAX_OOD_DIMS = 256  # wider features (DenseNet's 1024) are projected onto their top PCs


def fit_projection(features: np.ndarray, dims: int = 128) -> np.ndarray | None:
    """Top principal axes (dims, d) of wide features, or None when d <= MAX_OOD_DIMS.

    A 1024-d Gaussian fitted on a few hundred images is mostly shrinkage, and its
    precision matrix alone would be a 10 MB ood.json; the leading axes keep the signal.
    """
    if features.shape[1] <= MAX_OOD_DIMS:
        return None
    return principal_axes(features, dims)


def principal_axes(x: np.ndarray, dims: int) -> np.ndarray:
    """The top `dims` principal axes (dims, d) of the rows of `x`."""
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[: min(dims, len(vt))]


def fit_projected_gaussian(x: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(projection onto the top `dims` principal axes, mean, precision) of in-distribution
    feature rows: the shape every OOD detector here stores."""
    proj = principal_axes(x, dims)
    mu, precision = fit_gaussian(x @ proj.T)
    return proj, mu, precision


def projected_distance(model: dict, x: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of feature rows to a stored (projection, mean, precision)."""
    proj = np.asarray(model["projection"])
    return mahalanobis(x @ proj.T, np.asarray(model["mean"]), np.asarray(model["precision"]))


def stored(proj: np.ndarray, mu: np.ndarray, precision: np.ndarray) -> dict[str, list]:
    """The JSON form of a projected Gaussian (6 decimals)."""
    return {
        "projection": np.round(proj, 6).tolist(),
        "mean": np.round(mu, 6).tolist(),
        "precision": np.round(precision, 6).tolist(),
    }


def mahalanobis(features: np.ndarray, mu: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each feature row to the in-distribution Gaussian."""
    d = features - mu
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, precision, d), 0.0))
