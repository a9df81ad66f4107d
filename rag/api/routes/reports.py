"""POST /v1/reports: draft a verified report or abstain."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from rag.api.audit_records import draft_record, log
from rag.api.deps import ServicesDep, reveal_rejected_text
from rag.api.exports import AccessionQuery, FormatQuery, StudyUidQuery, export_response
from rag.api.routes.metrics import record_draft as count_draft
from rag.api.schemas import (
    ReportCreate,
    ReportResponse,
    retry_after_header,
    validation_message,
)
from rag.api.study_meta import study_meta
from rag.interop.meta import StudyMeta as ExportMeta
from rag.review.lifecycle import record_draft

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
    study = study_meta(body.model_dump())
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
    record = draft_record(key_id, body.model_dump(mode="json"), draft_request.labels, result, ms)
    # The draft and its audit entry are stored in one transaction (off the event loop).
    draft, entry = await run_in_threadpool(
        lambda: record_draft(
            svc,
            study=study,
            source="labels",
            key_id=key_id,
            labels=draft_request.labels,
            result=result,
            audit=record,
            indication=body.indication,
            prior_report=body.prior_report,
        )
    )
    log.info("draft seq=%s key=%s status=%s ms=%.1f", entry["seq"], key_id, result.status, ms)
    count_draft(request, result)
    # Still an abstention (200): the header tells clients when the LLM will be tried again.
    response.headers.update(retry_after_header(result))
    if fmt != "json":
        # The study's identifiers come in the body (stored with the draft) or the query.
        meta = ExportMeta(
            study_instance_uid=study_instance_uid or study.study_instance_uid,
            accession_number=accession_number or study.accession_number,
        )
        return export_response(fmt, result, meta)
    out = ReportResponse.of(result, reveal)
    if draft is not None:
        out = out.model_copy(update={"draft_id": draft.id, "draft_status": draft.status})
    return out
