"""FastAPI dependencies as Annotated aliases: services, API-key scopes, back-pressure."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from rag.services import Services


def get_services(request: Request) -> Services:
    """The services built in the lifespan."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def require(scope: str) -> Callable[[Request], str]:
    """A dependency that admits a request holding a key with `scope`; returns the key id."""

    def check(request: Request) -> str:
        svc: Services = request.app.state.services
        if svc.settings.auth == "disabled":
            request.state.key_id = "loopback-dev"
            return "loopback-dev"
        key = _presented_key(request)
        rec = svc.keys.lookup(key) if key else None
        if rec is None:
            raise HTTPException(
                status_code=401,
                detail={"message": "missing or unknown API key (Authorization: Bearer <key>)"},
                headers={"WWW-Authenticate": "Bearer"},
            )
        if scope not in rec.scopes:
            raise HTTPException(
                status_code=403, detail={"message": f"key {rec.id!r} lacks the {scope!r} scope"}
            )
        request.state.key_id = rec.id
        return rec.id

    return check


def reveal_rejected_text(request: Request, asked: bool) -> bool:
    """Whether rejected generated text may be shown: only when asked, and only to admins."""
    if not asked:
        return False
    svc: Services = request.app.state.services
    if svc.settings.auth == "disabled":
        return True
    key = _presented_key(request)
    rec = svc.keys.lookup(key) if key else None
    if rec is None or "admin" not in rec.scopes:
        raise HTTPException(
            status_code=403,
            detail={
                "field": "debug_rejected_text",
                "message": "rejected text is shown only to keys with the 'admin' scope",
            },
        )
    return True


class InflightLimiter:
    """Bounds concurrent drafts/verifications; beyond the bound answer 503 at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inflight = 0

    def __call__(self, request: Request) -> Iterator[None]:
        limit = request.app.state.services.settings.max_inflight
        with self._lock:
            if self.inflight >= limit:
                raise HTTPException(
                    status_code=503,
                    headers={"Retry-After": "1"},
                    detail={"message": f"server busy: {limit} requests in flight; retry shortly"},
                )
            self.inflight += 1
        try:
            yield
        finally:
            with self._lock:
                self.inflight -= 1
