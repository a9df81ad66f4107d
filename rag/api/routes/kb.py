"""POST /v1/kb/reload: load the published knowledge-base version without a restart."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from rag.api.deps import ServicesDep
from rag.kb.store import KBError

router = APIRouter(tags=["knowledge base"])


@router.post("/v1/kb/reload")
async def reload_kb(svc: ServicesDep) -> dict[str, object]:
    """Admin: load and verify the published version; on failure keep serving the old one."""
    previous = svc.kb.get().version if svc.kb.ready else None
    try:
        kb = await run_in_threadpool(svc.kb.reload)
    except KBError as exc:
        serving = svc.kb.get().version if svc.kb.ready else None
        raise HTTPException(
            status_code=409 if serving else 503,
            detail={"message": str(exc), "serving": serving},
        ) from None
    return {"kb_version": kb.version, "previous": previous, "passages": len(kb.passages)}
