"""POST /v1/verify: check free text against a label set."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from rag.api.audit_records import log, verify_record
from rag.api.deps import ServicesDep
from rag.api.schemas import SentenceCheck, VerifyCreate, VerifyResult, validation_message
from rag.domain import SentenceVerdict, Verdict
from rag.stages.verify import verify_text

router = APIRouter(tags=["verify"])


def check(body: VerifyCreate, labeler, crosscheck=None) -> list[SentenceVerdict]:
    """Verdicts for one request."""
    return verify_text(
        body.text, body.label_set(), labeler, body.indication, body.prior, crosscheck
    )


def run_verify(
    body: VerifyCreate, labeler, verdicts: list[SentenceVerdict] | None = None, crosscheck=None
) -> VerifyResult:
    """Verify one request (shared by the HTTP route and the CLI)."""
    verdicts = check(body, labeler, crosscheck) if verdicts is None else verdicts
    return VerifyResult(
        id=body.id,
        supported=bool(verdicts) and all(v.verdict is Verdict.supported for v in verdicts),
        sentences=[
            SentenceCheck(text=v.text, verdict=v.verdict.value, reasons=list(v.reasons))
            for v in verdicts
        ],
    )


@router.post("/v1/verify", response_model=VerifyResult)
def create_verification(body: VerifyCreate, svc: ServicesDep, request: Request) -> VerifyResult:
    """Verdict per sentence: supported, contradicted or unsupported, with reasons."""
    t0 = time.perf_counter()
    try:
        labels = body.label_set()
        verdicts = check(body, svc.pipeline.labeler, svc.pipeline.crosscheck)
    except ValidationError as exc:
        raise HTTPException(
            status_code=422, detail={"field": "labels", "message": validation_message(exc)}
        ) from None
    ms = (time.perf_counter() - t0) * 1000
    key_id = getattr(request.state, "key_id", "unknown")
    entry = svc.audit.append(
        verify_record(key_id, body.model_dump(mode="json"), labels, verdicts, ms)
    )
    log.info("verify seq=%s key=%s ms=%.1f", entry["seq"], key_id, ms)
    return run_verify(body, svc.pipeline.labeler, verdicts)
