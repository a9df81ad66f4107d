"""The FastAPI app factory: wires services once and mounts the routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from rag import __version__
from rag.api import deps, errors
from rag.api.routes import drafts, health, images, kb, metrics, reports, review_page, verify
from rag.api.watch import watch_pointer
from rag.config import Settings, get_settings
from rag.observability.http import ObservabilityMiddleware
from rag.observability.metrics import Metrics, time_generator
from rag.observability.tracing import configure_tracing
from rag.services import Services, build_services


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; pass `services` to swap parts (tests), else they are built at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
        else:
            cfg = settings or get_settings()
            app.state.services = await run_in_threadpool(build_services, cfg)
        svc: Services = app.state.services
        if app.state.metrics is not None:
            app.state.metrics.watch_services(svc)
            time_generator(svc, app.state.metrics)
        every = svc.settings.kb_watch_seconds
        watcher = asyncio.create_task(watch_pointer(svc.kb, every)) if every > 0 else None
        yield
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    cfg = services.settings if services else (settings or get_settings())
    app = FastAPI(
        title="radrag",
        version=__version__,
        lifespan=lifespan,
        description="Drafts chest X-ray reports that cite evidence and pass a verifier, "
        "or abstains and says why.",
    )
    errors.install(app)
    upload_limit = cfg.max_images * cfg.max_image_bytes + 64 * 1024
    app.add_middleware(
        errors.BodyLimitMiddleware,
        max_bytes=cfg.max_body_bytes,
        path_limits={images.PATH: upload_limit},
    )
    # Added last, so outermost: 413s and 500s get a request id and are counted too.
    app.state.metrics = Metrics() if cfg.metrics else None
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    if cfg.tracing_exporter != "none":
        configure_tracing(cfg.tracing_exporter)
    limiter = deps.InflightLimiter()
    app.state.limiter = limiter
    app.include_router(health.router)
    if cfg.metrics:
        app.include_router(metrics.router)
    for module, scope in ((reports, "draft"), (images, "draft"), (verify, "verify")):
        app.include_router(
            module.router, dependencies=[Depends(deps.require(scope)), Depends(limiter)]
        )
    app.include_router(kb.router, dependencies=[Depends(deps.require("admin"))])
    app.include_router(drafts.router, dependencies=[Depends(deps.require("reviewer"))])
    # The review page authenticates by its own cookie (see rag.api.routes.review_page).
    app.include_router(review_page.router)
    app.mount("/review/static", review_page.static, name="review-static")
    return app
