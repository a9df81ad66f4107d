"""Several vLLM servers behind one client: least outstanding requests, open breakers skipped.

vLLM scales out as several servers (one per GPU or node). Each server here has its own
connection pool and circuit breaker. A request goes to the admitted server with the
fewest requests in flight (a slow or busy server gets fewer), and a server whose breaker
is open is routed around until its cool-down lets a trial through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from rag.adapters.circuit_breaker import BreakerOpen, CircuitBreaker


def split_urls(value: str) -> list[str]:
    """Server base URLs from a comma-separated list (RADRAG_VLLM_URL), without slashes."""
    return [u.strip().rstrip("/") for u in value.split(",") if u.strip()]


@dataclass
class Server:
    """One vLLM server: its URL, connection pool, breaker and requests in flight."""

    url: str
    client: httpx.Client
    breaker: CircuitBreaker
    outstanding: int = field(default=0)


class ServerPool:
    """Picks a server per request; thread-safe."""

    def __init__(
        self,
        urls: list[str],
        make_client: Callable[[str], httpx.Client],
        make_breaker: Callable[[str], CircuitBreaker],
    ) -> None:
        if not urls:
            raise ValueError("at least one vLLM server URL is needed")
        self.servers = [Server(u, make_client(u), make_breaker(u)) for u in urls]
        self._lock = threading.Lock()

    def acquire(self, tried: set[str]) -> Server:
        """The admitted server with the fewest in flight (not in `tried`); counts it busy.

        Raises BreakerOpen (the soonest retry) when every untried server's breaker refuses.
        """
        with self._lock:
            order = sorted(
                (s for s in self.servers if s.url not in tried),
                key=lambda s: s.outstanding,  # stable: ties go to the first listed
            )
            refusal: BreakerOpen | None = None
            for s in order:
                try:
                    s.breaker.admit()
                except BreakerOpen as exc:
                    if refusal is None or exc.retry_after_s < refusal.retry_after_s:
                        refusal = exc
                    continue
                s.outstanding += 1
                return s
        assert refusal is not None  # only reached with every candidate refused
        raise refusal

    def release(self, server: Server) -> None:
        """The request to `server` is over."""
        with self._lock:
            server.outstanding -= 1

    def close(self) -> None:
        """Close every connection pool."""
        for s in self.servers:
            s.client.close()
