"""`radrag eval ...`: offline hallucination evaluation runs and release gates."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings
from rag.evaluation.metrics import HEADLINE as GATED
from rag.evaluation.metrics import LOWER_IS_BETTER

app = typer.Typer(
    help="Offline evaluation runs, comparisons and release gates.", no_args_is_help=True
)


class GeneratorChoice(StrEnum):
    """Generators an evaluation run can use."""

    extractive = "extractive"
    retrieval = "retrieval"
    vllm = "vllm"  # the guarded LLM generator (needs `make vllm`)
    unguarded = "unguarded"  # ChatCAD-style baseline on the same server, no guard


class LabelsFrom(StrEnum):
    """Where a run's label sets come from."""

    reference = "reference"


def _iu_cases(split: str, limit: int | None):
    from rag.adapters.iu_xray import load_reports, read_split
    from rag.adapters.registry_assets import iu_reports_dir
    from rag.evaluation.drafters import EvalCase
    from rag.evaluation.runner import label_set_from_reference
    from rag.kb.sources import SPLIT_DIR
    from rag.labeler import RuleLabeler

    labeler = RuleLabeler()
    reports = load_reports(iu_reports_dir(get_settings().assets_dir))
    cases, skipped = [], 0
    for rid in read_split(SPLIT_DIR, split):
        rep = reports[rid]
        labels = label_set_from_reference(labeler.label_report(rep.text)) if rep.text else None
        if labels is None:
            skipped += 1  # nothing in the ontology to draft from
            continue
        cases.append(EvalCase(rid, labels, rep.text, rep.indication or None))
    return (cases[:limit] if limit else cases), skipped, reports


@app.command("run")
def run_eval(
    out: Annotated[Path, typer.Option(help="output folder")],
    dataset: Annotated[str, typer.Option(help="dataset")] = "iu-xray",
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    labels_from: Annotated[LabelsFrom, typer.Option(help="label source")] = LabelsFrom.reference,
    generator: Annotated[GeneratorChoice, typer.Option()] = GeneratorChoice.extractive,
    limit: Annotated[int | None, typer.Option(help="first N cases only")] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="cases drafted at once (LLM batching)")
    ] = 1,
) -> None:
    """Draft every case, score it and write results.json, cases.jsonl and report.html."""
    from rag import __version__
    from rag.adapters.iu_xray import read_split
    from rag.evaluation import html_report
    from rag.evaluation.drafters import GuardedDrafter, RetrievalBaseline
    from rag.evaluation.runner import RunConflict, run
    from rag.kb.sources import SPLIT_DIR
    from rag.labeler import RuleLabeler
    from rag.services import build_services

    if dataset != "iu-xray":
        raise fail(f"--dataset: unknown dataset {dataset!r}; available: iu-xray")
    if split == "train":
        raise fail(
            "--split: the train split feeds the knowledge base; evaluate on validation or test"
        )
    cases, skipped, reports = _iu_cases(split, limit)
    labeler = RuleLabeler()
    config: dict[str, object] = {
        "dataset": dataset,
        "split": split,
        "labels_from": labels_from.value,
        "generator": generator.value,
        "limit": limit,
        "radrag_version": __version__,
        "labeler": labeler.name,
    }
    if generator is GeneratorChoice.retrieval:
        train = [reports[i] for i in read_split(SPLIT_DIR, "train")]
        drafter = RetrievalBaseline(train, labeler)
        config.update(kb_version=None, model=None, prompt_version=None)
    else:
        settings = get_settings()
        if generator is GeneratorChoice.vllm:
            settings = settings.model_copy(update={"generator": "vllm"})
        svc = build_services(settings)
        if not svc.kb.ready:
            raise fail(f"no knowledge base: {svc.kb.last_error}", code=1)
        kb = svc.kb.get()
        if generator is GeneratorChoice.unguarded:
            from rag.evaluation.unguarded import PROMPT_VERSION, UnguardedLLMDrafter

            drafter = UnguardedLLMDrafter(
                settings.vllm_url, settings.vllm_model, kb, svc.pipeline.retriever
            )
            config.update(
                kb_version=kb.version, model=settings.vllm_model, prompt_version=PROMPT_VERSION
            )
        else:
            gen = svc.pipeline.generator
            drafter = GuardedDrafter(svc.pipeline, generator.value)
            config.update(
                kb_version=kb.version,
                model=getattr(gen, "model", None),
                prompt_version=getattr(gen, "prompt_version", None),
            )
    try:
        results = run(cases, drafter, labeler, out, config, concurrency=concurrency)
    except RunConflict as exc:
        raise fail(str(exc)) from None
    records = [json.loads(x) for x in (out / "cases.jsonl").read_text().splitlines() if x]
    keep = {c.id for c in cases}
    html_report.write(out, results, [r for r in records if r["case_id"] in keep])
    typer.echo(
        json.dumps(
            {k: results[k] for k in GATED}
            | {"skipped_no_labels": skipped, "n_cases": results["n_cases"]}
        )
    )


@app.command("rescore")
def rescore_run(
    src: Annotated[Path, typer.Argument(help="results folder of a finished run")],
    out: Annotated[Path, typer.Option(help="output folder for the rescored run")],
) -> None:
    """Score a run's stored drafts again with the current labeler (no drafting)."""
    from rag.evaluation import html_report
    from rag.evaluation.runner import RunConflict, rescore
    from rag.labeler import RuleLabeler

    if not (src / "config.json").is_file() or not (src / "cases.jsonl").is_file():
        raise fail(f"SRC: {src} holds no run (config.json and cases.jsonl)")
    if out.resolve() == src.resolve():
        raise fail("--out: must differ from SRC; the original run is kept as it is")
    try:
        results = rescore(src, out, RuleLabeler())
    except RunConflict as exc:
        raise fail(str(exc)) from None
    records = [json.loads(x) for x in (out / "cases.jsonl").read_text().splitlines() if x]
    html_report.write(out, results, records)
    typer.echo(json.dumps({k: results[k] for k in GATED} | {"n_cases": results["n_cases"]}))


@app.command("compare")
def compare(
    baseline: Annotated[Path, typer.Argument(help="results folder of the baseline run")],
    candidate: Annotated[Path, typer.Argument(help="results folder of the candidate run")],
    tolerance: Annotated[float, typer.Option(help="allowed regression per metric")] = 0.01,
) -> None:
    """Print metric deltas; exit 1 when a gated metric regresses beyond the tolerance."""
    try:
        a = json.loads((baseline / "results.json").read_text())
        b = json.loads((candidate / "results.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"cannot read results.json: {exc}") from None
    regressions = []
    for k in GATED:
        va, vb = a.get(k), b.get(k)
        if not isinstance(va, int | float) or not isinstance(vb, int | float):
            continue
        delta = vb - va
        worse = delta > tolerance if k in LOWER_IS_BETTER else delta < -tolerance
        regressions += [k] if worse else []
        typer.echo(f"{k:28s} {va:8.4f} -> {vb:8.4f}  {delta:+.4f}{'  REGRESSION' if worse else ''}")
    if regressions:
        raise fail(f"regressed beyond {tolerance}: {', '.join(regressions)}", code=1)


@app.command("table")
def table(
    runs: Annotated[list[Path], typer.Argument(help="results folders, one row each")],
) -> None:
    """Print the headline metrics of several runs as one Markdown table."""
    cols = ("n_cases", *GATED)
    typer.echo("| run | " + " | ".join(cols) + " |")
    typer.echo("|---" * (len(cols) + 1) + "|")
    for folder in runs:
        try:
            res = json.loads((folder / "results.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise fail(f"cannot read {folder}/results.json: {exc}") from None
        cells = [_cell(res.get(k)) for k in cols]
        typer.echo(f"| {res.get('generator', folder.name)} | " + " | ".join(cells) + " |")


def _cell(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return "–" if v is None else str(v)
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)
