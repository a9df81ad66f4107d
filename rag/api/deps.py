"""FastAPI dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.services import Services


def get_services(request: Request) -> Services:
    """The services built in the lifespan."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
