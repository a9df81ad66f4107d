"""Poll the CURRENT pointer and reload the knowledge base when a new version appears."""

from __future__ import annotations

import asyncio
import logging

from fastapi.concurrency import run_in_threadpool

from rag.kb.store import KBError
from rag.services import KBHolder

log = logging.getLogger(__name__)


async def watch_pointer(holder: KBHolder, every_s: float) -> None:
    """Run until cancelled; a version that fails verification is refused once, logged."""
    while True:
        await asyncio.sleep(every_s)
        try:
            if await run_in_threadpool(holder.reload_if_changed):
                log.info("knowledge base reloaded: %s", holder.get().version)
        except KBError as exc:
            log.error("knowledge base reload refused, still serving the old one: %s", exc)
