"""POST /v1/verify: check free text against a label set."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import ValidationError

from rag.api.deps import ServicesDep
from rag.api.schemas import SentenceCheck, VerifyCreate, VerifyResult, validation_message
from rag.domain import Verdict
from rag.stages.verify import verify_text

router = APIRouter(tags=["verify"])


def run_verify(body: VerifyCreate, labeler) -> VerifyResult:
    """Verify one request (shared by the HTTP route and the CLI)."""
    verdicts = verify_text(body.text, body.label_set(), labeler, body.indication, body.prior)
    return VerifyResult(
        id=body.id,
        supported=bool(verdicts) and all(v.verdict is Verdict.supported for v in verdicts),
        sentences=[
            SentenceCheck(text=v.text, verdict=v.verdict.value, reasons=list(v.reasons))
            for v in verdicts
        ],
    )


@router.post("/v1/verify", response_model=VerifyResult)
def create_verification(body: VerifyCreate, svc: ServicesDep) -> VerifyResult:
    """Verdict per sentence: supported, contradicted or unsupported, with reasons."""
    try:
        return run_verify(body, svc.pipeline.labeler)
    except ValidationError as exc:
        raise HTTPException(
            status_code=422, detail={"field": "labels", "message": validation_message(exc)}
        ) from None
