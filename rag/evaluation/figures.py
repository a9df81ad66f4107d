"""The evaluation report's figures, drawn with matplotlib into static PNG files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rag.domain import Finding

STATES = ("present", "uncertain", "absent", "not mentioned")


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_coverage_risk(runs: dict[str, list[tuple[float, float]]], path: Path) -> None:
    """Coverage-risk curves, one line per run."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    drawn = 0
    for name, curve in runs.items():
        if curve:
            xs, ys = zip(*curve, strict=True)
            ax.plot(xs, ys, marker="o", ms=3, label=name)
            drawn += 1
    ax.set_xlabel("coverage (share of cases drafted)")
    ax.set_ylabel("risk (reports with a contradiction)")
    ax.set_xlim(0, 1)
    # A zero-risk line must not hide in the frame: a little room below 0 and above the top.
    top = max(0.1, 1.1 * max((r for curve in runs.values() for _, r in curve), default=0.0))
    ax.set_ylim(-0.03 * top, top)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    else:  # every case abstained: say so rather than show an empty frame
        ax.text(0.5, 0.5, "nothing drafted", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_f1_bars(per_finding: dict[str, float], path: Path) -> None:
    """Per-finding F1 bars (findings without positives in either text are left out)."""
    plt = pyplot()
    items = [(k, v) for k, v in per_finding.items() if v == v]  # drop NaN
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#4c72b0")
    for i, (_, v) in enumerate(items):  # an F1 of 0 draws no bar: print every value
        ax.text(v + 0.01, i, f"{v:.2f}", va="center", fontsize=7)
    if not items:
        ax.text(0.5, 0.5, "nothing drafted", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 (present)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def label_confusion(records: Sequence[dict[str, object]]) -> list[list[int]]:
    """Reference state (rows) vs draft state (columns), summed over findings."""
    idx = {s: i for i, s in enumerate(STATES)}
    mat = [[0] * 4 for _ in STATES]
    for r in records:
        if r["status"] != "drafted":
            continue
        ref, dr = r["reference_labels"], r["draft_labels"]
        for f in Finding:
            if f is Finding.no_finding:
                continue
            a = ref.get(f.value, "not mentioned")  # type: ignore[union-attr]
            b = dr.get(f.value, "not mentioned")  # type: ignore[union-attr]
            if a != "not mentioned" or b != "not mentioned":
                mat[idx[a]][idx[b]] += 1
    return mat


def plot_confusion(mat: list[list[int]], path: Path) -> None:
    """Heat map of the label confusion."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(mat, cmap="Blues")
    ax.set_xticks(range(4), STATES, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(4), STATES, fontsize=8)
    ax.set_xlabel("draft")
    ax.set_ylabel("reference")
    for i, row in enumerate(mat):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(reliability: dict[str, object], path: Path) -> None:
    """Reliability diagram: observed frequency against mean predicted probability per bin,
    with the number of (case, finding) pairs per bin below."""
    plt = pyplot()
    bins: list[dict] = reliability["bins"]  # type: ignore[assignment]
    full = [b for b in bins if b["n"]]
    fig, (ax, hx) = plt.subplots(
        2, 1, figsize=(4.8, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="grey", label="perfectly calibrated")
    ax.bar(
        [(b["lo"] + b["hi"]) / 2 for b in full],
        [b["observed_frequency"] for b in full],
        width=[b["hi"] - b["lo"] for b in full],
        color="#4c72b0",
        alpha=0.35,
        edgecolor="#4c72b0",
        label="observed frequency per bin",
    )
    ax.plot(
        [b["mean_probability"] for b in full],
        [b["observed_frequency"] for b in full],
        marker="o",
        ms=4,
        color="#c44e52",
        label="(mean predicted, observed)",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed frequency (NIH label present)")
    ax.set_title(f"encoder reliability, ECE {reliability['ece']:.3f}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    hx.bar(
        [(b["lo"] + b["hi"]) / 2 for b in bins],
        [b["n"] for b in bins],
        width=[b["hi"] - b["lo"] for b in bins],
        color="grey",
    )
    hx.set_yscale("log")  # the lowest bin holds most pairs; a linear axis hides the rest
    hx.set_ylabel("pairs", fontsize=8)
    hx.set_xlabel("predicted probability (calibrated encoder output)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
