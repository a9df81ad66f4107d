"""A static HTML report with matplotlib figures (no network, no JavaScript)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from rag.domain import Finding
from rag.evaluation import metrics as m

STATES = ("present", "uncertain", "absent", "not mentioned")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_coverage_risk(runs: dict[str, list[tuple[float, float]]], path: Path) -> None:
    """Coverage-risk curves, one line per run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, curve in runs.items():
        if curve:
            xs, ys = zip(*curve, strict=True)
            ax.plot(xs, ys, marker="o", ms=3, label=name)
    ax.set_xlabel("coverage (share of cases drafted)")
    ax.set_ylabel("risk (reports with a contradiction)")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_f1_bars(per_finding: dict[str, float], path: Path) -> None:
    """Per-finding F1 bars (findings without positives in either text are left out)."""
    plt = _plt()
    items = [(k, v) for k, v in per_finding.items() if v == v]  # drop NaN
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#4c72b0")
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
    plt = _plt()
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


def _worst(records: Sequence[dict[str, object]], n: int = 15) -> list[dict[str, object]]:
    drafted = [r for r in records if r["status"] == "drafted"]

    def badness(r: dict[str, object]) -> int:
        mt = r["metrics"]
        return 3 * len(mt["contradictions"]) + 2 * len(mt["hallucinated"]) + mt["n_unsupported"]  # type: ignore[index]

    return sorted((r for r in drafted if badness(r)), key=badness, reverse=True)[:n]


def write(
    out_dir: Path,
    results: dict[str, object],
    records: Sequence[dict[str, object]],
    extra_curves: dict[str, list[tuple[float, float]]] | None = None,
) -> Path:
    """Write report.html and its figures into out_dir."""
    name = str(results.get("generator", "run"))
    curves = {name: results["coverage_risk_curve"], **(extra_curves or {})}  # type: ignore[dict-item]
    plot_coverage_risk(curves, out_dir / "coverage_risk.png")  # type: ignore[arg-type]
    plot_f1_bars(results["chexpert_f1_per_finding"], out_dir / "f1_per_finding.png")  # type: ignore[arg-type]
    plot_confusion(label_confusion(records), out_dir / "label_confusion.png")
    keys = ["n_cases", "n_drafted", "n_abstained", *m.HEADLINE]
    rows = "".join(f"<tr><td>{k}</td><td>{_fmt(results.get(k))}</td></tr>" for k in keys)
    sel = json.dumps(results.get("selective_risk_at_coverage"))
    worst = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(str(r["case_id"])),
            html.escape(str(r["draft"])),
            html.escape(str(r["reference"])),
            html.escape(
                "; ".join(
                    f"{v['verdict']}: {', '.join(v['reasons'])}"
                    for v in r["sentence_verdicts"]  # type: ignore[attr-defined]
                    if v["verdict"] != "supported"
                )
                + f" | contradicts reference on {r['metrics']['contradictions']}"
            ),
        )  # type: ignore[index]
        for r in _worst(records)
    )
    stamp = html.escape(
        json.dumps(
            {
                k: results.get(k)
                for k in (
                    "config_hash",
                    "kb_version",
                    "generator",
                    "model",
                    "prompt_version",
                    "labels_from",
                    "split",
                )
            }
        )
    )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "td{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}"
        "table{border-collapse:collapse}"
    )
    parts = [
        f'<!doctype html><html><head><meta charset="utf-8"><title>radrag eval {name}</title>',
        f"<style>{style}</style></head><body>",
        f"<h1>radrag evaluation: {html.escape(name)}</h1><p><code>{stamp}</code></p>",
        f"<h2>Metrics</h2><table>{rows}</table>",
        f"<p>selective risk at coverage: <code>{html.escape(sel)}</code></p>",
        '<h2>Coverage and risk</h2><img src="coverage_risk.png" alt="coverage-risk curve">',
        '<h2>Per-finding F1</h2><img src="f1_per_finding.png" alt="per-finding F1">',
        "<h2>Label confusion (reference vs draft, all findings)</h2>",
        '<img src="label_confusion.png" alt="label confusion">',
        "<h2>Worst cases</h2><table><tr><td>case</td><td>draft</td><td>reference</td>",
        f"<td>verdicts</td></tr>{worst}</table></body></html>",
    ]
    page = "\n".join(parts)
    path = out_dir / "report.html"
    path.write_text(page)
    return path


def _fmt(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))
