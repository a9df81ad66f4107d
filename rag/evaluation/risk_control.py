"""Learn-then-Test calibration of an abstention threshold (Angelopoulos et al., 2021).

We want: among drafted (not abstained) reports, the rate of reports with any contradicted
or unsupported statement is at most alpha, with probability at least 1 - delta over the
calibration sample. Each candidate threshold lambda (draft when confidence >= lambda) is
a hypothesis H0: risk(lambda) > alpha, tested with an exact binomial p-value on the
calibration reports it would draft. Candidates are tested in a fixed sequence from the
most conservative (highest) threshold down, stopping at the first failure; the lowest
rejected threshold (largest coverage) is chosen. Fixed-sequence testing controls the
family-wise error at delta without a multiplicity correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) <= k), exact."""
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, k + 1))


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold and what it achieves on the calibration set."""

    threshold: float | None  # None: no threshold controls the risk (always abstain)
    alpha: float
    delta: float
    n: int
    coverage: float
    risk: float
    p_value: float | None
    tested: int


def learn_then_test(
    scores: Sequence[float],
    losses: Sequence[int],
    alpha: float = 0.05,
    delta: float = 0.1,
    candidates: Sequence[float] | None = None,
) -> Calibration:
    """Choose the lowest threshold whose selective risk is certified <= alpha."""
    if len(scores) != len(losses) or not scores:
        raise ValueError("scores and losses must be non-empty and of equal length")
    pairs = list(zip(scores, losses, strict=True))
    grid = sorted(set(candidates if candidates is not None else scores), reverse=True)
    best: tuple[float, int, int, float] | None = None
    tested = 0
    for lam in grid:
        accepted = [loss for s, loss in pairs if s >= lam]
        n, k = len(accepted), sum(accepted)
        if n == 0:
            continue  # drafts nothing: trivially safe, says nothing; keep going down
        tested += 1
        p = binom_cdf(k, n, alpha)
        if p > delta:
            break
        best = (lam, n, k, p)
    if best is None:
        return Calibration(None, alpha, delta, len(pairs), 0.0, 0.0, None, tested)
    lam, n, k, p = best
    return Calibration(lam, alpha, delta, len(pairs), n / len(pairs), k / n, p, tested)
