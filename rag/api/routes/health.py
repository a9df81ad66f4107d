"""Liveness and readiness."""

from __future__ import annotations

import math

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from rag.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def read_ready(svc: ServicesDep) -> JSONResponse:
    """Readiness: a verified knowledge base is loaded."""
    if not svc.kb.ready:
        return JSONResponse(
            status_code=503,
            content={"ready": False, "reason": svc.kb.last_error or "knowledge base not loaded"},
        )
    kb = svc.kb.get()
    content: dict[str, object] = {
        "ready": True,
        "kb_version": kb.version,
        "embedder": svc.embedder.id,
        "generator": svc.pipeline.generator.name,
        "passages": len(kb.passages),
        # A newer version that failed verification: the old one keeps serving.
        "last_reload_error": svc.kb.last_error,
    }
    describe = getattr(svc.pipeline.generator, "describe", None)
    if describe is not None:
        # An LLM generator is only ready when its server answers and serves the model.
        llm = describe()
        content["llm"] = llm
        if not (llm.get("reachable") and llm.get("serves_model")):
            content.update(ready=False, reason="LLM server not reachable or model not served")
            return JSONResponse(status_code=503, content=content)
        breaker = llm.get("breaker") or {}
        if breaker.get("state") == "open":
            # Not ready only while cooling down: once the cool-down ends the breaker reads
            # half-open and readiness returns, so traffic comes back to carry the trial.
            wait = math.ceil(breaker.get("retry_after_s") or 1)
            content.update(ready=False, reason=f"LLM circuit breaker open; next try in {wait} s")
            return JSONResponse(
                status_code=503, content=content, headers={"Retry-After": str(wait)}
            )
    return JSONResponse(content=content)
