"""What a finished run is reported as: its summary line, report.html, the comparison tables.

Kept out of the command line so the commands only parse options and print: the wording
and rounding of these summaries is part of what runs are compared by, and belongs with
the metrics rather than with option parsing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from rag.evaluation.metrics import HEADLINE as GATED
from rag.evaluation.metrics import LOWER_IS_BETTER

# (results.json judges key, column title) of the three-judge table.
JUDGE_COLS = (("verifier", "verifier"), ("crosscheck", "crosscheck"), ("mesh", "MeSH"))


def case_records(out: Path) -> list[dict]:
    """The records of a run's cases.jsonl, in file order."""
    return [json.loads(x) for x in (out / "cases.jsonl").read_text().splitlines() if x]


def import_report_libraries() -> None:
    """Import what scoring the run and drawing report.html need, ahead of their first use.

    About 1.5 s here (nltk under rouge-score, then matplotlib). A Ray run calls this
    while its workers load their models, when the command has nothing else to do; left
    to the end, it would be paid after the last case. A local run has nothing to overlap
    it with and imports them when it gets there.
    """
    from rag.evaluation import figures, html_report, metrics  # noqa: F401

    metrics.import_text_scorers()
    figures.pyplot()


def write_run_report(
    out: Path, results: dict[str, object], case_ids: Iterable[str] | None = None
) -> None:
    """report.html of a finished run, over `case_ids` only when given (this run's cases).

    A resumed run's cases.jsonl may hold cases of an earlier, longer run.
    """
    from rag.evaluation import html_report

    records = case_records(out)
    if case_ids is not None:
        keep = set(case_ids)
        records = [r for r in records if r["case_id"] in keep]
    html_report.write(out, results, records)


def judge_rates(results: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """Each judge's cases and rates, for the one-line summary a run prints."""
    j: dict = results.get("judges") or {}  # type: ignore[assignment]
    keys = ("n_judged", "hallucinated_finding_rate", "contradiction_rate")
    return {name: {k: (j.get(name) or {}).get(k) for k in keys} for name, _ in JUDGE_COLS}


def run_summary(
    results: Mapping[str, object], skipped: int, wall: float, ray_seconds: float | None
) -> dict[str, object]:
    """The one-line summary of `radrag eval run`."""
    summary = {k: results[k] for k in GATED} | {
        "skipped_no_labels": skipped,
        "n_cases": results["n_cases"],
        "abstention_reasons": results["abstention_reasons"],
        "judges": judge_rates(results),
        # The command's time up to report.html, without the Ray cluster's start (or join),
        # which is shown apart: that is the cluster's cost, not this evaluation's.
        "eval_seconds": round(wall - (ray_seconds or 0.0), 2),
    }
    if ray_seconds is not None:
        summary["ray_seconds"] = round(ray_seconds, 2)
    return summary


def rescore_summary(results: Mapping[str, object]) -> dict[str, object]:
    """The one-line summary of `radrag eval rescore`."""
    return {k: results[k] for k in GATED} | {
        "n_cases": results["n_cases"],
        "judges": judge_rates(results),
    }


def compare_runs(
    a: Mapping[str, object], b: Mapping[str, object], tolerance: float
) -> tuple[list[str], list[str]]:
    """One line per gated metric both runs have, and the metrics that regressed."""
    lines: list[str] = []
    regressions: list[str] = []
    for k in GATED:
        va, vb = a.get(k), b.get(k)
        if not isinstance(va, int | float) or not isinstance(vb, int | float):
            continue
        delta = vb - va
        worse = delta > tolerance if k in LOWER_IS_BETTER else delta < -tolerance
        regressions += [k] if worse else []
        lines.append(
            f"{k:28s} {va:8.4f} -> {vb:8.4f}  {delta:+.4f}{'  REGRESSION' if worse else ''}"
        )
    return lines, regressions


def metrics_table(results: Mapping[str, Mapping[str, object]]) -> list[str]:
    """The headline metrics of several runs, one Markdown row each."""
    cols = ("n_cases", *GATED)
    lines = ["| run | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, res in results.items():
        lines.append(f"| {name} | " + " | ".join(cell(res.get(k)) for k in cols) + " |")
    return lines


def judges_table(results: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Hallucination and contradiction rates by each judge, and their agreement (kappa).

    Empty when no run was judged.
    """
    if not any(res.get("judges") for res in results.values()):
        return []
    heads = [f"{what} ({title})" for what in ("halluc.", "contrad.") for _, title in JUDGE_COLS] + [
        "n MeSH",
        "kappa halluc. verifier~crosscheck",
        "kappa halluc. crosscheck~MeSH",
        "crosscheck flags: draft = its labels",
        "side/severity stated (n)",
        "side/severity wrong",
    ]
    lines = ["| run | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for name, res in results.items():
        j: dict = res.get("judges") or {}  # type: ignore[assignment]
        agree: dict = j.get("agreement") or {}
        cells = [
            (j.get(key) or {}).get(metric)
            for metric in ("hallucinated_finding_rate", "contradiction_rate")
            for key, _ in JUDGE_COLS
        ]
        cells += [
            (j.get("mesh") or {}).get("n_judged"),
            ((agree.get("verifier~crosscheck") or {}).get("hallucination") or {}).get("kappa"),
            ((agree.get("crosscheck~mesh") or {}).get("hallucination") or {}).get("kappa"),
            (j.get("crosscheck") or {}).get("flagged_cases_oracle_disagreement"),
        ]
        sa: dict = res.get("stated_attributes") or {}  # type: ignore[assignment]
        share = sa.get("stated_correctly_share")
        cells += [
            None if share is None else f"{share:.3f} ({sa['n_cases']})",
            sa.get("cases_stated_wrongly"),
        ]
        lines.append(f"| {name} | " + " | ".join(cell(c) for c in cells) + " |")
    return lines


def cell(v: object) -> str:
    """A table cell: floats to three places, a dash for a value the run lacks."""
    if isinstance(v, bool) or v is None:
        return "–" if v is None else str(v)
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)
