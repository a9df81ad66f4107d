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
    fmt: Annotated[
        str, typer.Option("--format", help="text, json, fhir (R4 Bundle) or dicom-sr (needs --out)")
    ] = "text",
    out: Annotated[Path | None, typer.Option(help="write the fhir/dicom-sr export here")] = None,
    study_uid: Annotated[
        str | None, typer.Option(help="source StudyInstanceUID (--labels; fhir/dicom-sr)")
    ] = None,
    accession: Annotated[str | None, typer.Option(help="accession number (fhir/dicom-sr)")] = None,
) -> None:
    """Draft a verified report for a label set (same contract as POST /v1/reports)."""
    from rag.api.schemas import ReportCreate, ReportResponse, validation_message
    from rag.cli.export import check_format
    from rag.kb.store import KBError
    from rag.services import build_services

    if (labels is None) == (not image):
        raise fail("give exactly one of --labels or --image")
    check_format(fmt, out)
    as_json = as_json or fmt == "json"
    if image:
        from rag.cli.draft_images import draft_images

        draft_images(image, indication, prior_report, as_json, fmt=fmt, out=out)
        return
    meta = _study_meta(study_uid, accession) if fmt in ("fhir", "dicom-sr") else None
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
    if meta is not None:
        from rag.cli.export import emit_export

        emit_export(fmt, result, meta, out)
    resp = ReportResponse.of(result)
    emit_report(resp, as_json)


def _study_meta(study_uid: str | None, accession: str | None):  # -> StudyMeta
    from rag.interop.meta import StudyMeta

    try:
        return StudyMeta(study_instance_uid=study_uid, accession_number=accession)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        opt = "--study-uid" if field == "study_instance_uid" else "--accession"
        raise fail(f"{opt}: {exc.errors()[0]['msg']}") from None


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command()(draft)
