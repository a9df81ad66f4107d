"""Continuous validation from reviewers' corrections: pure figures over stored cases.

For each signed report the encoder's proposal (probabilities) is scored against the
reviewer's final labels (present = 1, absent = 0; uncertain and unassessed are left out).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

SUBGROUPS = ("sex", "age_band", "view")
MIN_CASES = 10  # fewer cases (or one class only) than this: a figure is not computed


@dataclass(frozen=True)
class SignedCase:
    """One signed report as the monitor sees it."""

    proposed: dict[str, float] | None
    final: dict[str, str]
    edited: bool
    meta: dict[str, str | None]
    case_id: str = ""
    proposed_states: dict[str, str] | None = None
    accession_number: str | None = None


@dataclass(frozen=True)
class DraftCase:
    """One study's first decision (drafted, abstained or awaiting review) and its reasons."""

    decision: str
    reasons: tuple[str, ...]
    meta: dict[str, str | None]


@dataclass(frozen=True)
class Bounds:
    """Alert bounds."""

    min_auroc: float
    max_ece: float
    min_acceptance: float
    max_abstention: float


def auroc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Area under the ROC curve (ties averaged), or None with one class only."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    i = 0
    while i < len(p):  # average ranks over ties
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(float(p[m].mean()) - float(y[m].mean()))
    return total


def finding_figures(cases: list[SignedCase]) -> dict[str, dict[str, float | int | None]]:
    """Per finding: n, positives, AUROC, ECE and Brier score of the proposal vs the reviewer."""
    pairs: dict[str, list[tuple[int, float]]] = {}
    for c in cases:
        if not c.proposed:
            continue
        for f, prob in c.proposed.items():
            state = c.final.get(f)
            if state in ("present", "absent"):
                pairs.setdefault(f, []).append((int(state == "present"), prob))
    out: dict[str, dict[str, float | int | None]] = {}
    for f, rows in sorted(pairs.items()):
        y = np.array([r[0] for r in rows])
        p = np.array([r[1] for r in rows], dtype=float)
        enough = len(rows) >= MIN_CASES
        out[f] = {
            "n": len(rows),
            "positives": int(y.sum()),
            "auroc": auroc(y, p) if enough else None,
            "ece": ece(y, p) if enough else None,
            "brier": float(np.mean((p - y) ** 2)),
        }
    return out


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class MonitorReport:
    """Every figure the monitor shows, and the alerts they raise."""

    since: datetime
    until: datetime
    signed: int
    drafts: int
    acceptance_rate: float | None
    abstention_rate: float | None
    abstention_by_reason: dict[str, int]
    decisions: dict[str, int]
    sentence_feedback: dict[str, dict[str, int]]
    findings: dict[str, dict[str, float | int | None]]
    subgroups: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        d = dict(self.__dict__)
        d["since"], d["until"] = self.since.isoformat(), self.until.isoformat()
        return d


def _summary(signed: list[SignedCase], drafts: list[DraftCase]) -> dict[str, object]:
    accepted = sum(not c.edited for c in signed)
    abstained = sum(d.decision != "drafted" for d in drafts)
    aurocs = [v["auroc"] for v in finding_figures(signed).values() if v["auroc"] is not None]
    return {
        "signed": len(signed),
        "drafts": len(drafts),
        "acceptance_rate": _rate(accepted, len(signed)),
        "abstention_rate": _rate(abstained, len(drafts)),
        "mean_auroc": float(np.mean(aurocs)) if aurocs else None,
    }


def _alerts(report: MonitorReport, bounds: Bounds) -> list[str]:
    out = []
    for f, v in report.findings.items():
        if v["auroc"] is not None and v["auroc"] < bounds.min_auroc:
            out.append(f"{f}: AUROC {v['auroc']:.3f} below {bounds.min_auroc}")
        if v["ece"] is not None and v["ece"] > bounds.max_ece:
            out.append(f"{f}: calibration error {v['ece']:.3f} above {bounds.max_ece}")
    if report.acceptance_rate is not None and report.acceptance_rate < bounds.min_acceptance:
        out.append(f"acceptance {report.acceptance_rate:.2f} below {bounds.min_acceptance}")
    if report.abstention_rate is not None and report.abstention_rate > bounds.max_abstention:
        out.append(f"abstention {report.abstention_rate:.2f} above {bounds.max_abstention}")
    for key, groups in report.subgroups.items():
        for value, g in groups.items():
            a = g["mean_auroc"]
            if a is not None and g["signed"] >= MIN_CASES and a < bounds.min_auroc:  # type: ignore[operator]
                out.append(f"{key}={value}: mean AUROC {a:.3f} below {bounds.min_auroc}")
            ab = g["abstention_rate"]
            if ab is not None and g["drafts"] >= MIN_CASES and ab > bounds.max_abstention:  # type: ignore[operator]
                out.append(f"{key}={value}: abstention {ab:.2f} above {bounds.max_abstention}")
    return out


def build_report(
    since: datetime,
    until: datetime,
    signed: list[SignedCase],
    drafts: list[DraftCase],
    feedback: list[tuple[str, str]],
    bounds: Bounds,
) -> MonitorReport:
    """All figures over one window, by subgroup where the metadata says, with alerts."""
    s = _summary(signed, drafts)
    fb: dict[str, dict[str, int]] = {}
    for kind, reason in feedback:
        fb.setdefault(kind, {}).setdefault(reason, 0)
        fb[kind][reason] += 1
    report = MonitorReport(
        since=since,
        until=until,
        signed=len(signed),
        drafts=len(drafts),
        acceptance_rate=s["acceptance_rate"],  # type: ignore[arg-type]
        abstention_rate=s["abstention_rate"],  # type: ignore[arg-type]
        abstention_by_reason=dict(Counter(r for d in drafts for r in d.reasons)),
        decisions=dict(Counter(d.decision for d in drafts)),
        sentence_feedback=fb,
        findings=finding_figures(signed),
    )
    for key in SUBGROUPS:
        values = {c.meta.get(key) for c in signed} | {d.meta.get(key) for d in drafts}
        values.discard(None)
        report.subgroups[key] = {
            str(v): _summary(
                [c for c in signed if c.meta.get(key) == v],
                [d for d in drafts if d.meta.get(key) == v],
            )
            for v in sorted(values)  # type: ignore[type-var]
        }
    report.alerts = _alerts(report, bounds)
    return report
