"""A static HTML report with matplotlib figures (no network, no JavaScript)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from rag.evaluation import figures
from rag.evaluation import metrics as m
from rag.evaluation.aggregate import SUBGROUP_COLUMNS

STAMP_KEYS = (
    "config_hash",
    "dataset",
    "split",
    "labels_from",
    "generator",
    "kb_version",
    "model",
    "prompt_version",
    "encoder",
    "uncertified_encoder_ok",
)


def _worst(records: Sequence[dict[str, object]], n: int = 15) -> list[dict[str, object]]:
    drafted = [r for r in records if r["status"] == "drafted"]

    def badness(r: dict[str, object]) -> int:
        # A flat contradiction (present vs absent) outranks a hedge the reference lacks.
        mt: dict = r["metrics"]  # type: ignore[assignment]
        # The other judges' objections count too, below the verifier's own.
        others = [v for v in (r.get("judges") or {}).values() if v]  # type: ignore[union-attr]
        return (
            4 * len(mt.get("hard_contradictions", []))
            + 3 * len(mt["contradictions"])
            + 2 * len(mt["hallucinated"])
            + mt["n_unsupported"]
            + sum(len(v["hallucinated"]) + len(v["contradictions"]) for v in others)
        )

    return sorted((r for r in drafted if badness(r)), key=badness, reverse=True)[:n]


def _fmt(v: object) -> str:
    if v is None:
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))


def _reference_text(r: dict[str, object]) -> str:
    """The reference report, or for label-only datasets the labels it has."""
    if r.get("reference"):
        return str(r["reference"])
    meta: dict[str, str] = r.get("meta") or {}  # type: ignore[assignment]
    if meta.get("nih_labels"):
        return f"NIH labels: {meta['nih_labels']}"
    labels: dict[str, str] = r.get("reference_labels") or {}  # type: ignore[assignment]
    present = [f for f, s in labels.items() if s == "present" and f != "no_finding"]
    return "reference labels present: " + (", ".join(present) or "none")


def _metrics_rows(results: dict[str, object]) -> str:
    keys = ["n_cases", "n_drafted", "n_abstained", *m.HEADLINE]
    rows = "".join(f"<tr><td>{k}</td><td>{_fmt(results.get(k))}</td></tr>" for k in keys)
    reasons: dict[str, int] = results.get("abstention_reasons") or {}  # type: ignore[assignment]
    rows += "".join(
        f"<tr><td>abstained: {html.escape(code)}</td><td>{n}</td></tr>"
        for code, n in sorted(reasons.items(), key=lambda kv: -kv[1])
    )
    return rows


def _na_note(results: dict[str, object]) -> str:
    if all(results.get(k) is not None for k in m.HEADLINE):
        return ""
    return (
        "<p>n/a: not defined for this run (no drafted reports, or no reference reports "
        "for BLEU and ROUGE-L).</p>"
    )


def subgroup_table(subgroups: dict[str, dict[str, dict[str, object]]]) -> str:
    """The subgroup block of results.json as an HTML table ('' when there is none)."""
    if not subgroups:
        return ""
    head = "".join(f"<th>{c}</th>" for c in ("subgroup", "value", *SUBGROUP_COLUMNS))
    body = "".join(
        f"<tr><td>{html.escape(key)}</td><td>{html.escape(value)}</td>"
        + "".join(f"<td>{_fmt(row.get(c))}</td>" for c in SUBGROUP_COLUMNS)
        + "</tr>"
        for key, groups in subgroups.items()
        for value, row in groups.items()
    )
    return f"<h2>Subgroups</h2><table><tr>{head}</tr>{body}</table>"


def judges_section(judges: dict[str, dict[str, object]] | None) -> str:
    """The three judges' rates side by side and their pairwise agreement ('' without)."""
    if not judges:
        return ""
    names = [k for k in judges if k != "agreement"]
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(str(judges[n].get('description', '')))}"
        f"</td><td>{_fmt(judges[n].get('n_judged'))}</td>"
        f"<td>{_fmt(judges[n].get('hallucinated_finding_rate'))}</td>"
        f"<td>{_fmt(judges[n].get('contradiction_rate'))}</td></tr>"
        for n in names
    )
    agree: dict[str, dict[str, dict[str, object]]] = judges.get("agreement") or {}  # type: ignore[assignment]
    arows = "".join(
        f"<tr><td>{html.escape(pair)}</td><td>{html.escape(what)}</td>"
        f"<td>{_fmt(v.get('n'))}</td><td>{_fmt(v.get('agreement'))}</td>"
        f"<td>{_fmt(v.get('kappa'))}</td></tr>"
        for pair, by in agree.items()
        for what, v in by.items()
    )
    return (
        "<h2>Judges</h2><p>The same drafts read by three judges. The verifier's labeler is "
        "circular for guarded drafts (it also chose and verified them); the independent "
        "check uses another engine and vocabulary; MeSH is the human annotation of the "
        "reference (IU X-ray only).</p>"
        "<table><tr><th>judge</th><th>what it is</th><th>drafts judged</th>"
        f"<th>hallucination rate</th><th>contradiction rate</th></tr>{rows}</table>"
        "<p>Agreement on per-draft flags (share of drafts flagged alike, Cohen's kappa):</p>"
        "<table><tr><th>judges</th><th>flag</th><th>drafts</th><th>agreement</th>"
        f"<th>kappa</th></tr>{arows}</table>"
    )


def _reliability_section(results: dict[str, object], out_dir: Path) -> str:
    rel: dict[str, object] | None = results.get("encoder_reliability")  # type: ignore[assignment]
    if not rel:
        return ""
    figures.plot_reliability(rel, out_dir / "encoder_reliability.png")
    return (
        "<h2>Encoder calibration (reliability diagram)</h2>"
        '<figure><img src="encoder_reliability.png" alt="encoder reliability diagram">'
        f"<figcaption>Calibrated encoder probability vs the share of NIH labels present, "
        f"pooled over findings and all {results.get('n_cases')} images (abstained ones "
        f"included): {rel['n_pairs']} (image, finding) pairs in 10 equal-width bins; "
        f"expected calibration error (ECE) {_fmt(rel['ece'])}.</figcaption></figure>"
    )


def _worst_rows(records: Sequence[dict[str, object]]) -> str:
    return "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(str(r["case_id"])),
            html.escape(str(r["draft"])),
            html.escape(_reference_text(r)),
            html.escape(_problems(r)),
        )
        for r in _worst(records)
    )


def _worst_section(records: Sequence[dict[str, object]], n_drafted: int) -> str:
    rows = _worst_rows(records)
    if not rows:
        why = "Nothing was drafted." if not n_drafted else "No drafted report has a problem."
        return f"<h2>Worst cases</h2><p>{why}</p>"
    return (
        "<h2>Worst cases</h2><table><tr><td>case</td><td>draft</td><td>reference</td>"
        f"<td>verdicts</td></tr>{rows}</table>"
    )


def _problems(r: dict[str, object]) -> str:
    """The verifier's objections and the contradictions with the reference, in words."""
    said = [
        f"{v['verdict']}: {', '.join(v['reasons'])}"
        for v in r["sentence_verdicts"]  # type: ignore[attr-defined]
        if v["verdict"] != "supported"
    ]
    mt: dict[str, list[str]] = r["metrics"]  # type: ignore[assignment]
    if mt.get("hard_contradictions"):
        said.append(
            "states the opposite of the reference on " + ", ".join(mt["hard_contradictions"])
        )
    if mt["contradictions"]:
        said.append("contradicts the reference on " + ", ".join(mt["contradictions"]))
    if mt["hallucinated"]:
        said.append("hallucinates " + ", ".join(mt["hallucinated"]))
    judges: dict[str, dict[str, list[str]] | None] = r.get("judges") or {}  # type: ignore[assignment]
    for name, verdict in judges.items():
        for key, what in (("hallucinated", "hallucinates"), ("contradictions", "contradicts")):
            if verdict and verdict.get(key):
                said.append(f"{name} judge: {what} " + ", ".join(verdict[key]))
    return "; ".join(said)


def write(
    out_dir: Path,
    results: dict[str, object],
    records: Sequence[dict[str, object]],
    extra_curves: dict[str, list[tuple[float, float]]] | None = None,
) -> Path:
    """Write report.html and its figures into out_dir."""
    name = str(results.get("generator", "run"))
    curves = {name: results["coverage_risk_curve"], **(extra_curves or {})}  # type: ignore[dict-item]
    figures.plot_coverage_risk(curves, out_dir / "coverage_risk.png")  # type: ignore[arg-type]
    figures.plot_f1_bars(results["chexpert_f1_per_finding"], out_dir / "f1_per_finding.png")  # type: ignore[arg-type]
    figures.plot_confusion(figures.label_confusion(records), out_dir / "label_confusion.png")
    sel = json.dumps(results.get("selective_risk_at_coverage"))
    stamp = html.escape(json.dumps({k: results.get(k) for k in STAMP_KEYS if k in results}))
    warning = ""
    if results.get("uncertified_encoder_ok"):
        warning = (
            '<p class="warn">Research run: drafts were measured past the image path\'s '
            "risk_not_certified gate. The service abstains on these studies.</p>"
        )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "td,th{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}"
        "table{border-collapse:collapse}figcaption{font-size:13px;max-width:640px}"
        ".warn{background:#fde2e1;border:1px solid #c44e52;padding:6px}"
    )
    parts = [
        f'<!doctype html><html><head><meta charset="utf-8"><title>radrag eval {name}</title>',
        f"<style>{style}</style></head><body>",
        f"<h1>radrag evaluation: {html.escape(name)}</h1><p><code>{stamp}</code></p>{warning}",
        f"<h2>Metrics</h2><table>{_metrics_rows(results)}</table>",
        _na_note(results),
        f"<p>selective risk at coverage: <code>{html.escape(sel)}</code></p>",
        judges_section(results.get("judges")),  # type: ignore[arg-type]
        subgroup_table(results.get("subgroups") or {}),  # type: ignore[arg-type]
        '<h2>Coverage and risk</h2><img src="coverage_risk.png" alt="coverage-risk curve">',
        '<h2>Per-finding F1</h2><img src="f1_per_finding.png" alt="per-finding F1">',
        "<h2>Label confusion (reference vs draft, all findings)</h2>",
        '<img src="label_confusion.png" alt="label confusion">',
        _reliability_section(results, out_dir),
        _worst_section(records, int(results.get("n_drafted") or 0)),  # type: ignore[call-overload]
        "</body></html>",
    ]
    path = out_dir / "report.html"
    path.write_text("\n".join(p for p in parts if p))
    return path
