"""`radrag draft --format fhir|dicom-sr`: write the result as FHIR JSON or a DICOM SR."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import typer

from rag.cli.common import fail
from rag.domain import ReportResult
from rag.interop.meta import StudyMeta

OutputFormat = Literal["text", "json", "fhir", "dicom-sr"]
FORMATS: tuple[str, ...] = ("text", "json", "fhir", "dicom-sr")


def check_format(fmt: str, out: Path | None) -> None:
    """Refuse an unknown format, or dicom-sr without --out (binary never goes to a terminal)."""
    if fmt not in FORMATS:
        raise fail(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "dicom-sr" and out is None:
        raise fail("--format dicom-sr needs --out FILE")
    if out is not None and not out.parent.is_dir():
        raise fail(f"--out: folder {out.parent} does not exist")


def emit_export(fmt: str, result: ReportResult, meta: StudyMeta, out: Path | None) -> None:
    """Write the export (stdout or --out); exit 0 drafted, 3 abstained (no SR is written)."""
    code = 0 if result.status == "drafted" else 3
    if fmt == "fhir":
        from rag.interop.fhir import bundle_json

        text = bundle_json(result, meta)
        if out is None:
            typer.echo(text)
        else:
            out.write_text(text + "\n")
        sys.exit(code)
    from rag.interop.dicom_sr import NothingToEncode, sr_bytes

    assert out is not None
    try:
        out.write_bytes(sr_bytes(result, meta))
    except NothingToEncode:
        reasons = result.abstention.reasons if result.abstention else ()
        typer.echo("ABSTAINED (no SR written): " + "; ".join(r.message for r in reasons))
        sys.exit(3)
    typer.echo(f"wrote {out}")
    sys.exit(code)
