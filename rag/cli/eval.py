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
    # Not a generator: the reference's sentences that pass the guard (BLEU/ROUGE ceiling).
    reference_ceiling = "reference-ceiling"


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


def _iu_reports(settings=None):
    from rag.adapters.iu_xray import load_reports
    from rag.adapters.registry_assets import iu_reports_dir

    return load_reports(iu_reports_dir((settings or get_settings()).assets_dir))


def _iu_cases(split: str, limit: int | None, reports):
    from rag.adapters.iu_xray import read_split
    from rag.evaluation.runner import iu_cases
    from rag.kb.sources import SPLIT_DIR
    from rag.labeler import RuleLabeler

    return iu_cases(reports, read_split(SPLIT_DIR, split), RuleLabeler(), limit)


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


def _encoder_identity(source: str) -> str:
    """Digest of the encoder's weights and guard calibration (resumed runs must match)."""
    import hashlib

    root = Path(source)
    h = hashlib.sha256(source.encode())
    names = ("model.safetensors", "model.pth.tar", "model.pth", "model.pt", "weights.pt")
    names += ("encoder.json", "label_map.json", "calibration.json", "ood.json")
    for name in (*names, "guard_calibration.json"):
        if (root / name).is_file():
            h.update((root / name).read_bytes())
    return h.hexdigest()[:16]


def _encoder_cases(encoder, settings, data: Path, split: str, limit: int | None):
    """NIH cases labelled by the image encoder, the config they add, its guard file."""
    from rag.evaluation.image_cases import data_digest, nih_cases

    guard: dict | None = getattr(encoder, "guard_calibration", None)
    nih_split = "valid" if split == "validation" else split
    config = {
        "split": nih_split,
        "reference": "nih_labels",
        "data_sha256": data_digest(data),
        "encoder": encoder.id,
        "encoder_sha256": _encoder_identity(settings.image_encoder),
        "encoder_guard_certified": None if guard is None else bool(guard["certified"]),
    }
    return nih_cases(data, nih_split, encoder, limit), config, guard


def _load_image_encoder(settings):
    """The configured image encoder, without the rest of the services (a Ray driver)."""
    from rag.adapters.image_encoders import load_image_encoder

    s = settings
    return load_image_encoder(
        s.image_encoder, s.image_encoder_kind, s.image_encoder_device, s.image_encoder_dtype
    )


def _published_kb(settings) -> str:
    """The published KB version, read without loading it (a Ray driver loads no KB)."""
    from rag.kb.store import current_version

    version = current_version(settings.kb_root)
    if version is None:
        raise fail(
            f"no knowledge base: none is published under {settings.kb_root}; "
            "run `radrag kb ensure`",
            code=1,
        )
    return version


def _provenance(generator: GeneratorChoice, settings, kb_version: str | None) -> dict:
    """What a run's drafts depend on besides the cases: KB version, model, prompt.

    Read from settings and files alone, so a command whose drafting runs on Ray workers
    stamps the same configuration as a local run without building a generator.
    """
    if generator in (GeneratorChoice.retrieval, GeneratorChoice.reference_ceiling):
        return {"kb_version": None, "model": None, "prompt_version": None}
    if generator is GeneratorChoice.unguarded:
        from rag.evaluation.unguarded import PROMPT_VERSION

        return {
            "kb_version": kb_version,
            "model": settings.vllm_model,
            "prompt_version": PROMPT_VERSION,
        }
    if generator is GeneratorChoice.vllm:
        from rag.prompts import load_prompt

        prompt = load_prompt("draft_report", settings.prompt_version)
        return {"kb_version": kb_version, "model": settings.vllm_model, "prompt_version": prompt.id}
    return {"kb_version": kb_version, "model": None, "prompt_version": None}


def _drafter(generator: GeneratorChoice, svc, reports, labeler):
    """The drafter of a generator (its provenance: `_provenance`)."""
    from rag.adapters.iu_xray import read_split
    from rag.evaluation.drafters import GuardedDrafter, RetrievalBaseline
    from rag.kb.sources import SPLIT_DIR

    if generator is GeneratorChoice.retrieval:
        train = [reports[i] for i in read_split(SPLIT_DIR, "train")]
        return RetrievalBaseline(train, labeler)
    if generator is GeneratorChoice.reference_ceiling:
        from rag.crosscheck.verdict import ContextSentenceCheck
        from rag.evaluation.drafters import ReferenceCeiling

        return ReferenceCeiling(labeler, ContextSentenceCheck())
    kb, settings = svc.kb.get(), svc.settings
    if generator is GeneratorChoice.unguarded:
        from rag.evaluation.unguarded import UnguardedLLMDrafter

        return UnguardedLLMDrafter(
            settings.vllm_url, settings.vllm_model, kb, svc.pipeline.retriever
        )
    return GuardedDrafter(svc.pipeline, generator.value)


def _image_gated(drafter, guard: dict | None, lift: bool):
    """The guarded generators on images are the service, so they get its image gate."""
    from rag.evaluation.image_cases import ImagePathDrafter

    return ImagePathDrafter(drafter, guard, lift=lift)


def _image_guard(
    generator: GeneratorChoice, guard: dict | None, uncertified_encoder_ok: bool
) -> tuple[dict | None, bool] | None:
    """`(guard, lift)` for the guarded generators on images; None for the baselines."""
    if generator not in (GeneratorChoice.extractive, GeneratorChoice.vllm):
        return None  # the baselines have no guard of any kind: that is what they measure
    # Only the explicit research option lifts the gate's risk_not_certified part.
    lift = uncertified_encoder_ok and (guard is None or not guard["certified"])
    return guard, lift


def worker_scorer(
    settings,
    generator: GeneratorChoice,
    image_guard: tuple[dict | None, bool] | None,
    judge: bool = False,
    kb_version: str | None = None,
):
    """Build a run's drafter, labeler and judge in a Ray worker, as the driver does.

    `image_guard` is `(guard, lift)` when the drafter gets the image gate, None when it
    gets no gate at all. `kb_version` is the version the command stamped into the run's
    configuration; a worker that loads another one fails. Picklable (a module-level
    function under functools.partial).
    """
    from rag.evaluation.runner import scorer
    from rag.kb.store import expect_version
    from rag.labeler import RuleLabeler
    from rag.services import build_services

    labeler = RuleLabeler()
    svc = build_services(settings) if generator is not GeneratorChoice.retrieval else None
    if svc is not None and generator is not GeneratorChoice.reference_ceiling:
        expect_version(svc.kb.get().version, kb_version, settings.kb_root)
    reports = _iu_reports(settings) if generator is GeneratorChoice.retrieval else {}
    drafter = _drafter(generator, svc, reports, labeler)
    if image_guard is not None:
        drafter = _image_gated(drafter, *image_guard)
    return scorer(drafter, labeler, _judge() if judge else None)


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
    checker = _judge() if judge else None
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
                kb_version = svc.kb.get().version if svc is not None else _published_kb(settings)
            encoder = None
            if by_images:  # the cases come from the encoder, so this process needs it
                encoder = svc.get_image_encoder() if svc else _load_image_encoder(settings)
            guard = getattr(encoder, "guard_calibration", None)
            image_guard = (
                _image_guard(generator, guard, uncertified_encoder_ok) if by_images else None
            )
            if on_ray:
                factory = partial(
                    worker_scorer, settings, generator, image_guard, judge, kb_version
                )
                runner = RayExecutor(factory, workers=workers, concurrency=concurrency)
                stack.callback(runner.close)
                # Requested before the cases are read: the workers' imports and model and
                # KB loads overlap this process's own work (reading, labelling references).
                runner.start(limit)
            reports = {}
            if not by_images or generator is GeneratorChoice.retrieval:
                reports = _iu_reports(settings)
            if by_images:
                assert encoder is not None and data is not None
                cases, extra, _ = _encoder_cases(encoder, settings, data, split, limit)
                config |= extra | {"uncertified_encoder_ok": uncertified_encoder_ok}
            else:
                cases, skipped = _iu_cases(split, limit, reports)
            config |= _provenance(generator, settings, kb_version)
            if runner is not None:
                from rag.evaluation.executors import RemoteDrafter

                drafter = RemoteDrafter(generator.value)
            else:
                drafter = _drafter(generator, svc, reports, labeler)
                if image_guard is not None:
                    drafter = _image_gated(drafter, *image_guard)
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
                _write_report(out, results, cases)
            wall = time.perf_counter() - started
    except RunConflict as exc:
        raise fail(str(exc)) from None
    except ExecutorError as exc:
        raise fail(str(exc), code=1) from None
    ray_seconds = runner.ray_seconds if runner is not None else None
    summary = {k: results[k] for k in GATED} | {
        "skipped_no_labels": skipped,
        "n_cases": results["n_cases"],
        "abstention_reasons": results["abstention_reasons"],
        "judges": _judge_rates(results),
        # The command's time up to report.html, without the Ray cluster's start (or join),
        # which is shown apart: that is the cluster's cost, not this evaluation's.
        "eval_seconds": round(wall - (ray_seconds or 0.0), 2),
    }
    if ray_seconds is not None:
        summary["ray_seconds"] = round(ray_seconds, 2)
    typer.echo(json.dumps(summary))


def _write_report(out: Path, results: dict[str, object], cases) -> None:
    """report.html of a finished run, over this run's cases."""
    from rag.evaluation import html_report

    records = [json.loads(x) for x in (out / "cases.jsonl").read_text().splitlines() if x]
    keep = {c.id for c in cases}
    html_report.write(out, results, [r for r in records if r["case_id"] in keep])


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
    old = json.loads((src / "config.json").read_text())
    mesh = None
    if old.get("dataset") == "iu-xray":
        # Runs recorded before the MeSH judge existed lack the terms in their case meta.
        mesh = {rid: rep.mesh_major for rid, rep in _iu_reports().items()}
    try:
        results = rescore(src, out, RuleLabeler(), judge=_judge(), mesh=mesh)
    except RunConflict as exc:
        raise fail(str(exc)) from None
    records = [json.loads(x) for x in (out / "cases.jsonl").read_text().splitlines() if x]
    html_report.write(out, results, records)
    typer.echo(
        json.dumps(
            {k: results[k] for k in GATED}
            | {"n_cases": results["n_cases"], "judges": _judge_rates(results)}
        )
    )


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
    plot: Annotated[
        Path | None, typer.Option(help="also draw every run's coverage-risk curve in one PNG")
    ] = None,
) -> None:
    """Print the headline metrics of several runs as one Markdown table."""
    results: dict[str, dict[str, object]] = {}
    for folder in runs:
        try:
            res = json.loads((folder / "results.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise fail(f"cannot read {folder}/results.json: {exc}") from None
        name = str(res.get("generator", folder.name))
        results[name if name not in results else f"{name} ({folder.name})"] = res
    cols = ("n_cases", *GATED)
    typer.echo("| run | " + " | ".join(cols) + " |")
    typer.echo("|---" * (len(cols) + 1) + "|")
    for name, res in results.items():
        typer.echo(f"| {name} | " + " | ".join(_cell(res.get(k)) for k in cols) + " |")
    _judges_table(results)
    if plot is not None:
        from rag.evaluation.figures import plot_coverage_risk

        curves = {n: r.get("coverage_risk_curve") or [] for n, r in results.items()}
        plot_coverage_risk(curves, plot)  # type: ignore[arg-type]
        typer.echo(f"coverage-risk curves: {plot}")


def _judge():
    """The independent check, as the second judge of every draft."""
    from rag.crosscheck import ContextChecker

    return ContextChecker()


# (results.json judges key, column title) of the three-judge table.
_JUDGE_COLS = (("verifier", "verifier"), ("crosscheck", "crosscheck"), ("mesh", "MeSH"))


def _judge_rates(results: dict[str, object]) -> dict[str, dict[str, object]]:
    """Each judge's cases and rates, for the one-line summary a run prints."""
    j: dict = results.get("judges") or {}  # type: ignore[assignment]
    keys = ("n_judged", "hallucinated_finding_rate", "contradiction_rate")
    return {name: {k: (j.get(name) or {}).get(k) for k in keys} for name, _ in _JUDGE_COLS}


def _judges_table(results: dict[str, dict[str, object]]) -> None:
    """Hallucination and contradiction rates by each judge, and their agreement (kappa)."""
    if not any(res.get("judges") for res in results.values()):
        return
    heads = [
        f"{what} ({title})" for what in ("halluc.", "contrad.") for _, title in _JUDGE_COLS
    ] + [
        "n MeSH",
        "kappa halluc. verifier~crosscheck",
        "kappa halluc. crosscheck~MeSH",
        "crosscheck flags: draft = its labels",
        "side/severity stated (n)",
        "side/severity wrong",
    ]
    typer.echo("\n| run | " + " | ".join(heads) + " |")
    typer.echo("|---" * (len(heads) + 1) + "|")
    for name, res in results.items():
        j: dict = res.get("judges") or {}  # type: ignore[assignment]
        agree: dict = j.get("agreement") or {}
        cells = [
            (j.get(key) or {}).get(metric)
            for metric in ("hallucinated_finding_rate", "contradiction_rate")
            for key, _ in _JUDGE_COLS
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
        typer.echo(f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |")


def _cell(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return "–" if v is None else str(v)
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)
