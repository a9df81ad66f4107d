"""`radrag draft`: draft a verified report from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from rag.cli.common import emit_report, fail, read_json_arg
from rag.config import get_settings


def draft(
    labels: Annotated[str | None, typer.Option(help="label set as JSON, or a JSON file")] = None,
    image: Annotated[
        list[Path] | None, typer.Option(help="DICOM/PNG/JPEG of one study (repeatable)")
    ] = None,
    indication: Annotated[str | None, typer.Option()] = None,
    prior_report: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Draft a verified report for a label set (same contract as POST /v1/reports)."""
    from rag.api.schemas import ReportCreate, ReportResponse, validation_message
    from rag.kb.store import KBError
    from rag.services import build_services

    if (labels is None) == (not image):
        raise fail("give exactly one of --labels or --image")
    if image:
        from rag.cli.draft_images import draft_images

        draft_images(image, indication, prior_report, as_json)
        return
    assert labels is not None
    raw = read_json_arg(labels, "--labels")
    if isinstance(raw, dict) and "labels" in raw:
        raw = raw["labels"]
    try:
        req = ReportCreate(
            labels=raw,  # type: ignore[arg-type]
            indication=indication,
            prior_report=prior_report,
        ).to_domain()
    except ValidationError as exc:
        raise fail(f"--labels: {validation_message(exc)}") from None
    svc = build_services(get_settings())
    try:
        result = svc.pipeline.draft(req)
    except KBError as exc:
        raise fail(str(exc), code=1) from None
    resp = ReportResponse.of(result)
    emit_report(resp, as_json)


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command()(draft)
