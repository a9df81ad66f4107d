"""`radrag kb ...` and `radrag splits`: knowledge-base builds, status, IU X-ray splits."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings

app = typer.Typer(help="Knowledge-base builds and status.", no_args_is_help=True)


@app.command("build")
def kb_build(
    sources: Annotated[Path | None, typer.Option(help="sources.toml to read")] = None,
    iu_limit: Annotated[int | None, typer.Option(help="use only the first N train reports")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest as JSON")] = False,
) -> None:
    """Build a knowledge-base version from the declared sources and publish it."""
    from rag.adapters.registry_assets import AssetError
    from rag.adapters.st_embedder import SentenceTransformerEmbedder
    from rag.kb.build import build_version
    from rag.kb.sources import DEFAULT_SOURCES, load_passages, read_sources

    s = get_settings()
    t0 = time.perf_counter()
    try:
        specs = read_sources(sources or DEFAULT_SOURCES)
        passages, digests = load_passages(specs, s.assets_dir, iu_limit=iu_limit)
    except (AssetError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    t1 = time.perf_counter()
    emb = SentenceTransformerEmbedder(s.embedder, s.embed_batch_size)
    manifest = build_version(s.kb_root, passages, emb, digests)
    t2 = time.perf_counter()
    if as_json:
        typer.echo(manifest.model_dump_json(indent=2))
    else:
        typer.echo(
            f"published {manifest.version}: {manifest.counts} "
            f"(sources {t1 - t0:.1f}s, embed+index {t2 - t1:.1f}s)"
        )


@app.command("status")
def kb_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the published knowledge-base manifest."""
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


@app.command("ensure")
def kb_ensure() -> None:
    """Build the default knowledge base unless a valid one is already published."""
    from rag.kb.store import KBError, load_version

    try:
        kb = load_version(get_settings().kb_root)
        typer.echo(f"knowledge base {kb.version} is published and verified")
    except KBError:
        kb_build(sources=None, iu_limit=None, as_json=False)


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
