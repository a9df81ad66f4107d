"""Liveness and readiness."""

from __future__ import annotations

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
    return JSONResponse(content=content)
