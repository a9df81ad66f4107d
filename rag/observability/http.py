"""ASGI middleware: a request id on every response and log line, and per-route HTTP metrics."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.observability.context import accept_or_new, request_id
from rag.observability.metrics import Metrics
from rag.observability.tracing import stage_span

_HEADER = b"x-request-id"


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/kb/{version}`), never the raw path."""
    route = scope.get("route")
    # Unmatched paths (404s, scanners) share one label so they cannot grow the series count.
    return getattr(route, "path", None) or "unmatched"


class ObservabilityMiddleware:
    """Pure ASGI (no body buffering): sets the request id, times the request, counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers", ()) if k == _HEADER), None)
        rid = accept_or_new(raw.decode("latin-1") if raw else None)
        token = request_id.set(rid)
        status = 500  # what the client gets if the app raises before answering
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_HEADER, rid.encode())]
            await send(message)

        try:
            with stage_span("http", method=scope["method"], request_id=rid):
                await self.app(scope, receive, send_with_id)
        finally:
            if self.metrics is not None:
                labels = (route_template(scope), scope["method"], str(status))
                self.metrics.requests.labels(*labels).inc()
                self.metrics.latency.labels(*labels).observe(time.perf_counter() - t0)
            request_id.reset(token)
