"""Map errors to clear 4xx/5xx JSON at the edge; never echo request content back."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.schemas import describe_errors

log = logging.getLogger("radrag.api")


async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each bad field; the offending input is not echoed (it may be patient text)."""
    errors = describe_errors(exc.errors())
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=422, content={"detail": errors, "message": summary})


async def unhandled_error(_: Request, exc: Exception) -> JSONResponse:
    """A last resort: log the error type only and answer without internals."""
    log.error("unhandled %s", type(exc).__name__)
    return JSONResponse(status_code=500, content={"message": "internal error"})


async def kb_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """No verified knowledge base to draft from: 503, retry later."""
    return JSONResponse(
        status_code=503, content={"detail": {"message": str(exc)}}, headers={"Retry-After": "30"}
    )


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    from rag.kb.store import KBError

    app.add_exception_handler(KBError, kb_unavailable)
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unhandled_error)


class BodyLimitMiddleware:
    """Refuse bodies over a byte limit with 413 before they are parsed or buffered whole."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Upload routes (images) need a larger limit than JSON routes.
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        seen = 0
        too_big = False

        async def limited() -> Message:
            nonlocal seen, too_big
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    too_big = True
                    return {"type": "http.disconnect"}
            return msg

        started = False

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if too_big and not started:
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        await self.app(scope, limited, guarded_send)
        if too_big and not started:
            await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body = b'{"message":"request body exceeds the limit of %d bytes"}' % limit
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
