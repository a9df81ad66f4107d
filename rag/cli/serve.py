"""`radrag serve`: start the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.config import get_settings


def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the HTTP API (uvicorn)."""
    import uvicorn

    from rag.api.app import create_app
    from rag.observability.context import logging_config

    s = get_settings()
    # On SIGTERM uvicorn stops accepting, lets in-flight requests finish (up to 30 s), exits.
    uvicorn.run(
        create_app(s),
        host=host or s.host,
        port=port or s.port,
        log_level="info",
        # Every line (access log included) carries the request's X-Request-ID.
        log_config=logging_config("INFO"),
        timeout_graceful_shutdown=30,
    )


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command()(serve)
