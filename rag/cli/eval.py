"""`radrag eval ...`: offline hallucination evaluation runs and release gates."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings
from rag.evaluation import setup
from rag.evaluation.setup import GeneratorChoice

app = typer.Typer(
    help="Offline evaluation runs, comparisons and release gates.", no_args_is_help=True
)


class LabelsFrom(StrEnum):
    """Where a run's label sets come from."""

    reference = "reference"  # the labeler's reading of the reference report (IU X-ray)
    encoder = "encoder"  # the image encoder on NIH images (reference: NIH's labels)


# Which dataset each label source reads: IU X-ray has reports but no images here, the NIH
# subset has images and labels but no reports.
DATASET_FOR = {LabelsFrom.reference: "iu-xray", LabelsFrom.encoder: "nih1000"}


def default_nih_dir() -> Path:
    """../shared/data/nih1000 next to the repository (as the tests find ../shared)."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nih1000"


class Executor(StrEnum):
    """Where cases are drafted."""

    local = "local"  # threads in this process
    ray = "ray"  # Ray workers: RAY_ADDRESS's cluster, else a local one started for the run


def _check_dataset(dataset: str | None, labels_from: LabelsFrom, split: str) -> str:
    """The dataset a run reads, or a one-line error for a combination that cannot work."""
    want = DATASET_FOR[labels_from]
    if dataset is not None and dataset not in DATASET_FOR.values():
        raise fail(f"--dataset: unknown dataset {dataset!r}; available: iu-xray, nih1000")
    if dataset is not None and dataset != want:
        why = "has no images here" if dataset == "iu-xray" else "has no reference reports"
        raise fail(f"--dataset {dataset} {why}; --labels-from {labels_from.value} reads {want}")
    if split == "train":
        raise fail(
            "--split: the train split feeds the knowledge base and the encoder; "
            "evaluate on validation or test"
        )
    return want


@app.command("run")
def run_eval(
    out: Annotated[Path, typer.Option(help="output folder")],
    dataset: Annotated[
        str | None, typer.Option(help="iu-xray or nih1000 (default: the label source's)")
    ] = None,
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    labels_from: Annotated[LabelsFrom, typer.Option(help="label source")] = LabelsFrom.reference,
    generator: Annotated[GeneratorChoice, typer.Option()] = GeneratorChoice.extractive,
    limit: Annotated[int | None, typer.Option(help="first N cases only")] = None,
    concurrency: Annotated[
        int,
        typer.Option(min=1, max=64, help="cases drafted at once (LLM batching; per Ray worker)"),
    ] = 1,
    executor: Annotated[
        Executor, typer.Option(help="local threads, or Ray workers (RAY_ADDRESS or local)")
    ] = Executor.local,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Ray workers (default: the cluster's CPUs)")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="NIH folder for --labels-from encoder (default ../shared/data/nih1000)"),
    ] = None,
    uncertified_encoder_ok: Annotated[
        bool,
        typer.Option(
            "--uncertified-encoder-ok",
            help="research only: draft past the image path's risk_not_certified gate "
            "(the service abstains there); stamped into the config and results",
        ),
    ] = False,
    judge: Annotated[
        bool,
        typer.Option(
            help="also judge every draft with the independent check and, on IU X-ray, "
            "the human MeSH annotations (results.json `judges`)"
        ),
    ] = True,
) -> None:
    """Draft every case, score it and write results.json, cases.jsonl and report.html."""
    import time
    from contextlib import ExitStack
    from functools import partial

    from rag import __version__
    from rag.evaluation.executors import ExecutorError, RayExecutor
    from rag.evaluation.locks import output_lock
    from rag.evaluation.runner import ORACLE, RunConflict, run
    from rag.evaluation.summary import run_summary, write_run_report
    from rag.labeler import RuleLabeler
    from rag.services import build_services

    started = time.perf_counter()
    dataset = _check_dataset(dataset, labels_from, split)
    by_images = labels_from is LabelsFrom.encoder
    if uncertified_encoder_ok and not by_images:
        raise fail("--uncertified-encoder-ok applies to --labels-from encoder only")
    if by_images:
        data = data or default_nih_dir()
        if not (data / "labels.csv").is_file():
            raise fail(
                f"--labels-from encoder needs the NIH images: {data} has no labels.csv "
                "(../shared is absent on this machine?); pass --data DIR"
            )
    try:
        with output_lock(out):  # refused now, not after loading models; held again below
            pass
    except RunConflict as exc:
        raise fail(str(exc)) from None
    labeler = RuleLabeler()
    config: dict[str, object] = {
        "dataset": dataset,
        "split": split,
        "labels_from": labels_from.value,
        "oracle": ORACLE if labels_from is LabelsFrom.reference else None,
        "generator": generator.value,
        "limit": limit,
        "radrag_version": __version__,
        "labeler": labeler.name,
    }
    checker = setup.independent_judge() if judge else None
    if checker is not None:
        config["judge"] = checker.name
    settings = get_settings()
    if generator is GeneratorChoice.vllm:
        settings = settings.model_copy(update={"generator": "vllm"})
    needs_kb = generator is not GeneratorChoice.retrieval
    on_ray = executor is Executor.ray
    runner = None
    skipped = 0
    try:
        with ExitStack() as stack:
            # On Ray this process builds no embedder, KB or generator: the workers do, and
            # loading them here too would only add their cost to the command's time.
            svc = None if on_ray or not (needs_kb or by_images) else build_services(settings)
            if svc is not None and needs_kb and not svc.kb.ready:
                raise fail(f"no knowledge base: {svc.kb.last_error}", code=1)
            kb_version = None
            if needs_kb:
                kb_version = (
                    svc.kb.get().version
                    if svc is not None
                    else setup.published_kb_version(settings)
                )
            encoder = None
            if by_images:  # the cases come from the encoder, so this process needs it
                encoder = (
                    svc.get_image_encoder()
                    if svc
                    else setup.load_configured_image_encoder(settings)
                )
            guard = getattr(encoder, "guard_calibration", None)
            image_guard = (
                setup.image_guard_for(generator, guard, uncertified_encoder_ok)
                if by_images
                else None
            )
            if on_ray:
                factory = partial(
                    setup.worker_scorer, settings, generator, image_guard, judge, kb_version
                )
                runner = RayExecutor(factory, workers=workers, concurrency=concurrency)
                stack.callback(runner.close)
                # Requested before the cases are read: the workers' imports and model and
                # KB loads overlap this process's own work (reading, labelling references).
                runner.start(limit)
            reports = {}
            if not by_images or generator is GeneratorChoice.retrieval:
                reports = setup.iu_reports(settings)
            if by_images:
                assert encoder is not None and data is not None
                cases, extra, _ = setup.encoder_cases(encoder, settings, data, split, limit)
                config |= extra | {"uncertified_encoder_ok": uncertified_encoder_ok}
            else:
                cases, skipped = setup.iu_split_cases(split, limit, reports)
            config |= setup.provenance(generator, settings, kb_version)
            if runner is not None:
                from rag.evaluation.executors import RemoteDrafter
                from rag.evaluation.summary import import_report_libraries

                drafter = RemoteDrafter(generator.value)
                import_report_libraries()  # while the workers are still loading
            else:
                drafter = setup.build_drafter(generator, svc, reports, labeler)
                if image_guard is not None:
                    drafter = setup.image_gated(drafter, *image_guard)
            with output_lock(out):  # held until report.html is written too
                results = run(
                    cases,
                    drafter,
                    labeler,
                    out,
                    config,
                    concurrency=concurrency,
                    judge=checker,
                    executor=runner,
                )
                write_run_report(out, results, (c.id for c in cases))
            wall = time.perf_counter() - started
    except RunConflict as exc:
        raise fail(str(exc)) from None
    except setup.NoKnowledgeBase as exc:
        raise fail(str(exc), code=1) from None
    except ExecutorError as exc:
        raise fail(str(exc), code=1) from None
    ray_seconds = runner.ray_seconds if runner is not None else None
    typer.echo(json.dumps(run_summary(results, skipped, wall, ray_seconds)))


@app.command("rescore")
def rescore_run(
    src: Annotated[Path, typer.Argument(help="results folder of a finished run")],
    out: Annotated[Path, typer.Option(help="output folder for the rescored run")],
) -> None:
    """Score a run's stored drafts again with the current labeler (no drafting)."""
    from rag.evaluation.runner import RunConflict, rescore
    from rag.evaluation.summary import rescore_summary, write_run_report
    from rag.labeler import RuleLabeler

    if not (src / "config.json").is_file() or not (src / "cases.jsonl").is_file():
        raise fail(f"SRC: {src} holds no run (config.json and cases.jsonl)")
    if out.resolve() == src.resolve():
        raise fail("--out: must differ from SRC; the original run is kept as it is")
    old = json.loads((src / "config.json").read_text())
    mesh = None
    if old.get("dataset") == "iu-xray":
        # Runs recorded before the MeSH judge existed lack the terms in their case meta.
        mesh = {rid: rep.mesh_major for rid, rep in setup.iu_reports().items()}
    try:
        results = rescore(src, out, RuleLabeler(), judge=setup.independent_judge(), mesh=mesh)
    except RunConflict as exc:
        raise fail(str(exc)) from None
    write_run_report(out, results)
    typer.echo(json.dumps(rescore_summary(results)))


@app.command("compare")
def compare(
    baseline: Annotated[Path, typer.Argument(help="results folder of the baseline run")],
    candidate: Annotated[Path, typer.Argument(help="results folder of the candidate run")],
    tolerance: Annotated[float, typer.Option(help="allowed regression per metric")] = 0.01,
) -> None:
    """Print metric deltas; exit 1 when a gated metric regresses beyond the tolerance."""
    from rag.evaluation.summary import compare_runs

    try:
        a = json.loads((baseline / "results.json").read_text())
        b = json.loads((candidate / "results.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"cannot read results.json: {exc}") from None
    lines, regressions = compare_runs(a, b, tolerance)
    for line in lines:
        typer.echo(line)
    if regressions:
        raise fail(f"regressed beyond {tolerance}: {', '.join(regressions)}", code=1)


@app.command("table")
def table(
    runs: Annotated[list[Path], typer.Argument(help="results folders, one row each")],
    plot: Annotated[
        Path | None, typer.Option(help="also draw every run's coverage-risk curve in one PNG")
    ] = None,
) -> None:
    """Print the headline metrics of several runs as one Markdown table."""
    from rag.evaluation.summary import judges_table, metrics_table

    results: dict[str, dict[str, object]] = {}
    for folder in runs:
        try:
            res = json.loads((folder / "results.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise fail(f"cannot read {folder}/results.json: {exc}") from None
        name = str(res.get("generator", folder.name))
        results[name if name not in results else f"{name} ({folder.name})"] = res
    typer.echo("\n".join(metrics_table(results)))
    judged = judges_table(results)
    if judged:  # a blank line apart from the headline table
        typer.echo("\n" + "\n".join(judged))
    if plot is not None:
        from rag.evaluation.figures import plot_coverage_risk

        curves = {n: r.get("coverage_risk_curve") or [] for n, r in results.items()}
        plot_coverage_risk(curves, plot)  # type: ignore[arg-type]
        typer.echo(f"coverage-risk curves: {plot}")
