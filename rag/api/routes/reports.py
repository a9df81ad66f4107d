"""POST /v1/reports: draft a verified report or abstain."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from rag.api.deps import ServicesDep
from rag.api.schemas import ReportCreate, ReportResponse, validation_message
from rag.kb.store import KBError

router = APIRouter(tags=["reports"])


@router.post("/v1/reports", response_model=ReportResponse)
async def create_report(body: ReportCreate, svc: ServicesDep) -> ReportResponse:
    """Draft a verified report for a label set, or abstain with reasons."""
    try:
        request = body.to_domain()
    except ValidationError as exc:
        raise HTTPException(
            status_code=422, detail={"field": "labels", "message": validation_message(exc)}
        ) from None
    try:
        result = await run_in_threadpool(svc.pipeline.draft, request)
    except KBError as exc:
        raise HTTPException(
            status_code=503, detail={"message": str(exc)}, headers={"Retry-After": "30"}
        ) from None
    return ReportResponse.of(result)
