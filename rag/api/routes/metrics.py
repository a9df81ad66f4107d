"""GET /metrics: Prometheus text format (no API key, like the health probes)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from rag.domain import ReportResult

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def read_metrics(request: Request) -> Response:
    """Every metric of this app (rag.observability.metrics names them)."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def record_draft(request: Request, result: ReportResult) -> None:
    """Count a drafting decision when metrics are on (a no-op when they are off)."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        route = getattr(request.scope.get("route"), "path", request.url.path)
        metrics.observe_result(result, route)
