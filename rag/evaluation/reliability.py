"""Reliability (calibration) of the image encoder: binned predicted probability vs the
observed frequency of the reference label, pooled over findings.

The bins are the equal-width bins of rag.encoder.calibration.ece (same edges, same
assignment), so the ECE shown with the diagram is the one `radrag encoder evaluate` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ReliabilityBin:
    """One probability bin: [lo, hi), its size, mean prediction and observed frequency."""

    lo: float
    hi: float
    n: int
    mean_probability: float | None
    observed_frequency: float | None


def reliability_bins(
    probabilities: Sequence[float], outcomes: Sequence[bool | int], n_bins: int = 10
) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; the last bin includes 1.0. Empty bins have None means."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(outcomes, dtype=np.float64)
    if p.shape != y.shape:
        raise ValueError("probabilities and outcomes differ in length")
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        mask = idx == b
        k = int(mask.sum())
        out.append(
            ReliabilityBin(
                lo=round(float(edges[b]), 6),
                hi=round(float(edges[b + 1]), 6),
                n=k,
                mean_probability=float(p[mask].mean()) if k else None,
                observed_frequency=float(y[mask].mean()) if k else None,
            )
        )
    return out


def expected_calibration_error(bins: Sequence[ReliabilityBin]) -> float | None:
    """Sum over bins of (bin share) x |observed frequency - mean probability|."""
    total = sum(b.n for b in bins)
    if not total:
        return None
    return sum(
        b.n / total * abs(b.observed_frequency - b.mean_probability)  # type: ignore[operator]
        for b in bins
        if b.n
    )


def encoder_pairs(records: Sequence[dict[str, object]]) -> tuple[list[float], list[bool]]:
    """(probability, reference present) for every finding both the encoder and the
    reference assess, over all cases (abstained ones too: the encoder ran on them)."""
    probs: list[float] = []
    truth: list[bool] = []
    for r in records:
        given = (r.get("inputs") or {}).get("probabilities") or {}  # type: ignore[union-attr]
        ref: dict[str, str] = r.get("reference_labels") or {}  # type: ignore[assignment]
        for finding, p in given.items():
            if finding in ref:
                probs.append(float(p))
                truth.append(ref[finding] == "present")
    return probs, truth


def encoder_reliability(
    records: Sequence[dict[str, object]], n_bins: int = 10
) -> dict[str, object] | None:
    """The reliability block of results.json, or None when no case has encoder probabilities."""
    probs, truth = encoder_pairs(records)
    if not probs:
        return None
    bins = reliability_bins(probs, truth, n_bins)
    return {
        "pooled_over": "every (case, finding) the encoder and the reference both assess",
        "n_pairs": len(probs),
        "ece": expected_calibration_error(bins),
        "bins": [asdict(b) for b in bins],
    }
