"""The FastAPI app factory: routes are HTTP only; the pipeline does the work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from rag import __version__
from rag.api import errors
from rag.api.schemas import ReportCreate, ReportResponse, validation_message
from rag.config import Settings, get_settings
from rag.kb.store import KBError
from rag.services import Services, build_services


def get_services(request: Request) -> Services:
    """The services built in the lifespan."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; pass `services` to swap parts (tests), else they are built at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
        else:
            app.state.services = await run_in_threadpool(build_services, settings or get_settings())
        yield

    cfg = services.settings if services else (settings or get_settings())
    app = FastAPI(
        title="radrag",
        version=__version__,
        lifespan=lifespan,
        description="Drafts chest X-ray reports that cite evidence and pass a "
        "verifier, or abstains and says why.",
    )
    errors.install(app)
    app.add_middleware(errors.BodyLimitMiddleware, max_bytes=cfg.max_body_bytes)

    @app.get("/healthz")
    def read_health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    def read_ready(svc: ServicesDep) -> JSONResponse:
        """Readiness: a verified knowledge base is loaded."""
        if not svc.kb.ready:
            return JSONResponse(
                status_code=503,
                content={
                    "ready": False,
                    "reason": svc.kb.last_error or "knowledge base not loaded",
                },
            )
        kb = svc.kb.get()
        return JSONResponse(
            content={
                "ready": True,
                "kb_version": kb.version,
                "embedder": svc.embedder.id,
                "generator": svc.pipeline.generator.name,
                "passages": len(kb.passages),
            }
        )

    @app.post("/v1/reports", response_model=ReportResponse)
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

    return app
