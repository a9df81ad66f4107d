"""`?format=` on the drafting routes: the same result as FHIR R4 JSON or a DICOM SR file.

Builders are pure (rag.interop); this module only picks one and sets the media type, so a
stored draft's route (`GET /v1/drafts/{id}/fhir`) can reuse `export_response` in one line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import HTTPException, Query
from fastapi.responses import Response

from rag.api.schemas import retry_after_header
from rag.domain import ReportResult
from rag.interop.meta import ACCESSION_PATTERN, UID_PATTERN, StudyMeta

ExportFormat = Literal["json", "fhir", "dicom-sr"]
FormatQuery = Annotated[
    ExportFormat,
    Query(
        alias="format",
        description="json (default), fhir (an HL7 FHIR R4 Bundle, application/fhir+json) or "
        "dicom-sr (a DICOM Comprehensive SR, application/dicom; drafted results only).",
    ),
]
StudyUidQuery = Annotated[
    str | None,
    Query(
        pattern=UID_PATTERN,
        max_length=64,
        description="The source study's DICOM StudyInstanceUID, for the fhir/dicom-sr formats.",
    ),
]
AccessionQuery = Annotated[
    str | None,
    Query(
        pattern=ACCESSION_PATTERN,
        description="The order's accession number (DICOM SH: 16 printable ASCII characters).",
    ),
]


def export_response(fmt: ExportFormat, result: ReportResult, meta: StudyMeta) -> Response:
    """The result in a non-JSON format (fhir or dicom-sr) as an HTTP response."""
    if fmt == "fhir":
        from rag.interop.fhir import FHIR_JSON, bundle_json

        return Response(
            bundle_json(result, meta), media_type=FHIR_JSON, headers=retry_after_header(result)
        )
    from rag.interop.dicom_sr import DICOM_MIME, NothingToEncode, sr_bytes

    try:
        data = sr_bytes(result, meta)
    except NothingToEncode as exc:
        reasons = result.abstention.model_dump(mode="json") if result.abstention else None
        raise HTTPException(
            status_code=422,
            detail={"field": "format", "message": str(exc), "abstention": reasons},
        ) from None
    except (ValueError, TypeError, LookupError) as exc:
        # A source header whose values DICOM cannot write back (the error names no value).
        raise HTTPException(
            status_code=422,
            detail={
                "field": "format",
                "message": f"the source study's header cannot be carried into an SR "
                f"({type(exc).__name__})",
            },
        ) from None
    return Response(
        data,
        media_type=DICOM_MIME,
        headers={"Content-Disposition": 'attachment; filename="radrag-sr.dcm"'},
    )
