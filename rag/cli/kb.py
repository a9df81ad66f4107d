"""`radrag kb ...`: refresh jobs, versions (status, list, rollback) and IU X-ray splits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.common import fail
from rag.config import Settings, get_settings

if TYPE_CHECKING:
    from rag.ports import Embedder

app = typer.Typer(help="Knowledge-base refreshes, versions and status.", no_args_is_help=True)

SourcesOpt = Annotated[Path | None, typer.Option("--sources", help="sources.toml to read")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def make_embedder(settings: Settings) -> Embedder:
    """The embedder a refresh uses (the one place tests swap it)."""
    from rag.adapters.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.embedder, settings.embed_batch_size)


@app.command("refresh")
def kb_refresh(
    sources: SourcesOpt = None,
    full: Annotated[bool, typer.Option("--full", help="re-embed everything")] = False,
    iu_limit: Annotated[int | None, typer.Option(help="use only the first N train reports")] = None,
    as_json: JsonOpt = False,
    executor: Annotated[
        str, typer.Option(help="local, or ray: embed on Ray workers (RAY_ADDRESS or local)")
    ] = "local",
    workers: Annotated[
        int | None, typer.Option(min=1, help="Ray workers (default: the cluster's CPUs)")
    ] = None,
) -> None:
    """Refresh the knowledge base: embed only new or changed chunks, validate, publish."""
    from contextlib import ExitStack
    from functools import partial

    from rich.progress import Progress, TaskID

    from rag.adapters.ray_cluster import RayJobError
    from rag.adapters.registry_assets import AssetError
    from rag.kb.ray_embed import RayEmbedder
    from rag.kb.refresh import BatchEmbed, refresh
    from rag.kb.sources import DEFAULT_SOURCES, load_passages, read_sources
    from rag.kb.store import KBError

    s = get_settings()
    if executor not in ("local", "ray"):
        raise fail(f"--executor: {executor!r} is not one of local, ray")
    try:
        specs = read_sources(sources or DEFAULT_SOURCES)
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    with ExitStack() as stack, Progress(disable=as_json, transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bars.add_task(step, total=total)
            bars.update(tasks[step], completed=done)

        try:
            emb: Embedder
            batches: BatchEmbed | None
            if executor == "ray":
                # This process loads no model: the actors do, while the sources are read.
                ray_emb = stack.enter_context(
                    RayEmbedder(partial(make_embedder, s), workers=workers)
                )
                emb, batches = ray_emb, ray_emb
            else:
                emb, batches = make_embedder(s), None
            summary, _ = refresh(
                s.kb_root,
                lambda: load_passages(specs, s.assets_dir, iu_limit=iu_limit),
                emb,
                full=full,
                exact_max=s.kb_exact_max,
                retention=s.kb_retention,
                progress=progress,
                embed_batches=batches,
            )
        except (AssetError, ValueError, OSError, KBError, RayJobError) as exc:
            raise fail(f"refresh failed, nothing published: {exc}", code=1) from None
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
        return
    if not summary.published:
        typer.echo(f"unchanged: {summary.version} already holds these passages; nothing published")
        return
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in summary.seconds.items())
    typer.echo(
        f"published {summary.version} ({summary.index_kind}): +{summary.added} added, "
        f"~{summary.changed} changed, -{summary.removed} removed, {summary.reused} reused, "
        f"{summary.embedded} embedded; {steps}"
    )


@app.command("build")
def kb_build(
    sources: SourcesOpt = None,
    iu_limit: Annotated[int | None, typer.Option(help="use only the first N train reports")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build from scratch and publish (the same as `refresh --full`)."""
    kb_refresh(sources=sources, full=True, iu_limit=iu_limit, as_json=as_json, executor="local")


@app.command("status")
def kb_status(as_json: JsonOpt = False) -> None:
    """Show the published knowledge-base manifest (verified)."""
    from rag.kb.store import KBError, load_version

    try:
        kb = load_version(get_settings().kb_root)
    except KBError as exc:
        raise fail(str(exc), code=1) from None
    m = kb.manifest
    typer.echo(
        m.model_dump_json(indent=2)
        if as_json
        else f"{m.version} embedder={m.embedder} index={m.index_kind} counts={m.counts}"
    )


@app.command("list")
def kb_list(as_json: JsonOpt = False) -> None:
    """List the versions on disk, oldest first; `*` marks the published one."""
    from rag.kb.store import current_version, list_versions

    root = get_settings().kb_root
    current = current_version(root)
    rows = [
        {
            "version": m.version,
            "published": m.version == current,
            "parent": m.parent,
            "created": m.created,
            "index": m.index_kind,
            "passages": m.counts.get("passages", 0),
        }
        for m in list_versions(root)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        mark = "*" if r["published"] else " "
        typer.echo(f"{mark} {r['version']}  {r['created']}  {r['index']}  {r['passages']}")


@app.command("rollback")
def kb_rollback(version: Annotated[str, typer.Argument(help="a version from `kb list`")]) -> None:
    """Publish an earlier version again (it is verified first)."""
    from rag.kb.store import KBError, load_version, publish

    root = get_settings().kb_root
    try:
        load_version(root, version)
        publish(root, version)
    except KBError as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"published {version}")


@app.command("ensure")
def kb_ensure() -> None:
    """Build the default knowledge base unless a valid one is already published."""
    from rag.kb.store import KBError, load_version

    try:
        kb = load_version(get_settings().kb_root)
        typer.echo(f"knowledge base {kb.version} is published and verified")
    except KBError:
        kb_refresh(sources=None, full=False, iu_limit=None, as_json=False, executor="local")


@app.command("splits")
def splits(check: Annotated[bool, typer.Option(help="verify instead of writing")] = True) -> None:
    """Check (or with --no-check rewrite) the committed IU X-ray train/validation/test lists."""
    from rag.adapters.iu_xray import SPLITS, assign_split, load_reports, read_split, write_splits
    from rag.adapters.registry_assets import iu_reports_dir
    from rag.kb.sources import SPLIT_DIR

    reports = load_reports(iu_reports_dir(get_settings().assets_dir))
    if not check:
        typer.echo(json.dumps(write_splits(list(reports), SPLIT_DIR)))
        return
    for split in SPLITS:
        ids = read_split(SPLIT_DIR, split)
        bad = [i for i in ids if i not in reports or assign_split(i) != split]
        if bad:
            raise fail(f"split {split}: {len(bad)} ids do not belong (first: {bad[0]})", 1)
    typer.echo("splits match the archive and the assignment rule")
