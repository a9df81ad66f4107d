"""`radrag guard ...`: measure the hallucination guard (challenge set, labeler agreement)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings

app = typer.Typer(help="Measure the verifier and the labeler.", no_args_is_help=True)
SplitOpt = Annotated[str, typer.Option(help="IU X-ray split: train, validation or test")]


def _reports(split: str) -> list:
    from rag.adapters.iu_xray import load_reports, read_split
    from rag.adapters.registry_assets import AssetError, iu_reports_dir
    from rag.kb.sources import SPLIT_DIR

    try:
        reports = load_reports(iu_reports_dir(get_settings().assets_dir))
        return [reports[i] for i in read_split(SPLIT_DIR, split) if reports[i].text]
    except (AssetError, ValueError) as exc:
        raise fail(str(exc)) from None


def _checks(names: list[str]) -> list:
    """The checks named on the command line (the wiring place for new checks)."""
    from rag.evaluation.checks import CrossCheck, VerifierCheck
    from rag.labeler import RuleLabeler

    # verifier: the rules alone (rag/stages/verify.py without its second reader);
    # crosscheck: the independent medspaCy check alone. Given both, the table adds their
    # AND, which is the service's guard (a sentence passes only if both pass).
    factories = {
        "verifier": lambda: VerifierCheck(RuleLabeler()),
        "crosscheck": lambda: CrossCheck(),
        "crosscheck-denied-ooo": lambda: CrossCheck(allow_denied_ooo=True),
    }
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise fail(f"--check: unknown check {unknown[0]!r}; choose from {', '.join(factories)}")
    return [factories[n]() for n in dict.fromkeys(names)]


SETS = ("handwritten", "iu", "llm")


@app.command("challenge")
def challenge(
    split: Annotated[
        str, typer.Option(help="IU split the generated set is built from (train or validation)")
    ] = "validation",
    max_sentences: Annotated[int, typer.Option(help="IU sentences to corrupt")] = 300,
    sets: Annotated[
        str, typer.Option(help="comma-separated: handwritten, iu (generated), llm (real LLM)")
    ] = ",".join(SETS),
    check: Annotated[
        list[str] | None,
        typer.Option(help="verifier, crosscheck or crosscheck-denied-ooo (repeat); default both"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recall of bad sentences and false alarms on correct ones, per kind, set and check."""
    from rag.evaluation.challenge import evaluate, generated_cases, load_handwritten, load_llm
    from rag.labeler import RuleLabeler

    wanted = [s.strip() for s in sets.split(",") if s.strip()]
    if not wanted or any(s not in SETS for s in wanted):
        raise fail(f"--sets: choose from {', '.join(SETS)}")
    checks = _checks(check or ["verifier", "crosscheck"])
    cases = {}
    if "handwritten" in wanted:
        cases["handwritten"] = load_handwritten()
    if "iu" in wanted:
        cases[f"iu_{split}"] = generated_cases(_reports(split), RuleLabeler(), max_sentences)
    if "llm" in wanted:
        try:
            cases["llm_validation"] = load_llm()
        except (OSError, ValueError) as exc:
            raise fail(f"llm challenge set: {exc}") from None
    out = evaluate(cases, checks)
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    for name, by_check in out.items():
        typer.echo(_table(name, by_check))


def _rate(x: object) -> str:
    return "   -  " if x is None else f"{x:.4f}"


def _table(set_name: str, by_check: dict[str, dict]) -> str:
    """One set: a row per kind, a column per check (recall on bad kinds, alarms on good)."""
    names = list(by_check)
    first = by_check[names[0]]
    head = f"{set_name}: {first['n_corrupted']} bad, {first['n_correct']} correct"
    lines = [head, f"  {'kind':26s} {'n':>5s}  " + "  ".join(f"{n[:18]:>18s}" for n in names)]
    rows = [
        ("BAD: recall", "recall", "n_corrupted"),
        ("CORRECT: false alarms", "false_alarm_rate", "n_correct"),
    ]
    for label, key, nkey in rows:
        cells = "  ".join(f"{_rate(by_check[n][key]):>18s}" for n in names)
        lines.append(f"  {label:26s} {first[nkey]:5d}  {cells}")
    for kind, row in first["per_kind"].items():
        key = "recall" if "recall" in row else "false_alarm_rate"
        cells = "  ".join(f"{_rate(by_check[n]['per_kind'][kind][key]):>18s}" for n in names)
        lines.append(f"    {kind:24s} {row['n']:5d}  {cells}")
    for src in first.get("per_source", {}):
        for key, nkey in (("recall", "n_bad"), ("false_alarm_rate", "n_correct")):
            label = f"{src} {'recall' if key == 'recall' else 'false alarms'}"
            n = first["per_source"][src][nkey]
            cells = "  ".join(f"{_rate(by_check[c]['per_source'][src][key]):>18s}" for c in names)
            lines.append(f"  {label:26s} {n:5d}  {cells}")
    return "\n".join(lines)


@app.command("mesh-agreement")
def mesh_agreement(
    split: SplitOpt = "test",
    uncertain_positive: Annotated[bool, typer.Option(help="count uncertain as present")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Agreement of the labeler with the IU reports' human MeSH annotations."""
    from rag.evaluation.mesh import agreement
    from rag.labeler import RuleLabeler

    res = agreement(_reports(split), RuleLabeler(), uncertain_positive)
    if as_json:
        typer.echo(json.dumps(res, indent=2))
        return
    typer.echo(
        f"{res['reports']} reports: micro F1 {res['micro_f1_findings']:.3f} "
        f"(P {res['micro_precision']:.3f}, R {res['micro_recall']:.3f})"
    )
    for f, r in res["per_finding"].items():
        typer.echo(
            f"  {f:28s} support {r['support']:4d}  P {r['precision']:.2f}  "
            f"R {r['recall']:.2f}  F1 {r['f1']:.2f}  kappa {r['kappa']:.2f}"
        )


@app.command("calibrate")
def calibrate(
    data: Annotated[str, typer.Option(help="labelled folder (NIH-style or site labels.csv)")],
    split: Annotated[
        str, typer.Option(help="patient split to certify on (disjoint from calibration)")
    ] = "certify",
    alpha: Annotated[float, typer.Option(help="target risk")] = 0.05,
    delta: Annotated[float, typer.Option(help="1 - confidence")] = 0.1,
    write: Annotated[
        bool, typer.Option(help="write guard_calibration.json next to the encoder")
    ] = True,
) -> None:
    """Learn-then-Test the image path's abstention threshold; print (and save) the result."""
    from pathlib import Path

    from rag.evaluation.guard_calibration import calibrate as ltt
    from rag.evaluation.guard_calibration import collect
    from rag.services import build_services

    folder = Path(data)
    if not (folder / "labels.csv").is_file():
        raise fail(f"--data: {folder} has no labels.csv")
    svc = build_services(get_settings())
    if not svc.kb.ready:
        raise fail(f"no knowledge base: {svc.kb.last_error}", code=1)
    encoder = svc.get_image_encoder()
    gaps = [name for name, _ in encoder.missing if name != "guard_calibration.json"]
    if gaps:
        raise fail(
            f"the encoder lacks {', '.join(gaps)}: run `radrag encoder calibrate --data "
            f"{folder} --checkpoint {svc.settings.image_encoder}` first"
        )
    try:
        res = ltt(collect(svc, folder, split), alpha, delta)
    except ValueError as exc:
        raise fail(str(exc)) from None
    res |= {"split": split, "encoder": encoder.id, "loss": "per-sentence contradiction"}
    text = json.dumps(res, indent=2)
    if write:
        out = Path(svc.settings.image_encoder) / "guard_calibration.json"
        out.write_text(text + "\n")
        typer.echo(f"wrote {out}", err=True)
    typer.echo(text)
