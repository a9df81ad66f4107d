"""POST /v1/reports: draft a verified report or abstain."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from rag.api.audit_records import draft_record, log
from rag.api.deps import ServicesDep, reveal_rejected_text
from rag.api.exports import AccessionQuery, FormatQuery, StudyUidQuery, export_response
from rag.api.routes.metrics import record_draft
from rag.api.schemas import (
    ReportCreate,
    ReportResponse,
    retry_after_header,
    validation_message,
)
from rag.interop.meta import StudyMeta

router = APIRouter(tags=["reports"])


@router.post("/v1/reports", response_model=ReportResponse)
async def create_report(
    body: ReportCreate,
    svc: ServicesDep,
    request: Request,
    response: Response,
    debug_rejected_text: bool = False,
    fmt: FormatQuery = "json",
    study_instance_uid: StudyUidQuery = None,
    accession_number: AccessionQuery = None,
) -> ReportResponse | Response:
    """Draft a verified report for a label set, or abstain with reasons."""
    reveal = reveal_rejected_text(request, debug_rejected_text)
    t0 = time.perf_counter()
    try:
        draft_request = body.to_domain()
    except ValidationError as exc:
        raise HTTPException(
            status_code=422, detail={"field": "labels", "message": validation_message(exc)}
        ) from None
    # A missing knowledge base (KBError) becomes a 503 in rag.api.errors.
    result = await run_in_threadpool(svc.pipeline.draft, draft_request)
    ms = (time.perf_counter() - t0) * 1000
    key_id = getattr(request.state, "key_id", "unknown")
    entry = svc.audit.append(
        draft_record(key_id, body.model_dump(mode="json"), draft_request.labels, result, ms)
    )
    log.info("draft seq=%s key=%s status=%s ms=%.1f", entry["seq"], key_id, result.status, ms)
    record_draft(request, result)
    # Still an abstention (200): the header tells clients when the LLM will be tried again.
    response.headers.update(retry_after_header(result))
    if fmt != "json":
        meta = StudyMeta(study_instance_uid=study_instance_uid, accession_number=accession_number)
        return export_response(fmt, result, meta)
    return ReportResponse.of(result, reveal)
