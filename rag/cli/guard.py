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


@app.command("challenge")
def challenge(
    split: SplitOpt = "test",
    max_sentences: Annotated[int, typer.Option(help="IU sentences to corrupt")] = 300,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Detection recall per corruption kind and false-alarm rate (handwritten + IU)."""
    from rag.evaluation.challenge import generated_cases, load_handwritten, run
    from rag.labeler import RuleLabeler

    labeler = RuleLabeler()
    out = {
        "handwritten": run(load_handwritten(), labeler),
        f"iu_{split}": run(generated_cases(_reports(split), labeler, max_sentences), labeler),
    }
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    for name, res in out.items():
        typer.echo(
            f"{name}: recall {res['recall']:.4f} on {res['n_corrupted']} corrupted, "
            f"false alarms {res['false_alarm_rate']:.4f} on {res['n_correct']} correct"
        )
        for kind, row in res["per_kind"].items():
            rate = row.get("recall", row.get("false_alarm_rate"))
            typer.echo(f"  {kind:24s} n={row['n']:5d} flagged={row['flagged']:5d} rate={rate:.4f}")


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
