"""Knowledge-base embedding on Ray: an Embedder whose model lives on worker actors.

The refresh decides what to embed (only texts without a reusable vector, by content
hash) and builds the index once from the vectors; this only moves the embedding onto a
cluster. Each actor loads the embedder once from a picklable factory; the command itself
loads no model: the embedder's id and dimension come from an actor. Vectors come back in
batch order, so the result lines up with a local run's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import numpy as np

from rag.adapters.ray_cluster import (
    RayJobError,
    first_line,
    import_ray,
    ray_session,
    worker_shares,
)
from rag.ports import Embedder

EmbedderFactory = Callable[[], Embedder]  # called once in each worker; must pickle


class RayEmbedder:
    """The Embedder port on `workers` Ray actors (default: the cluster's CPUs).

    `start()` (or entering it) connects and requests the actors without waiting for them,
    so their model loads overlap whatever the caller does next (a refresh reads its
    sources). Calling it on batches embeds them on all actors; `embed`, `id` and `dim`
    make it a plain Embedder for everything else a refresh asks of one.
    """

    def __init__(
        self,
        factory: EmbedderFactory,
        *,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_worker: float = 1.0,
    ) -> None:
        self.factory, self.address = factory, address
        self.workers, self.cpus_per_worker = workers, cpus_per_worker
        self._pool: list[Any] = []
        self._stack: ExitStack | None = None
        self._identity: tuple[str, int] | None = None

    def __enter__(self) -> RayEmbedder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Connect (or start a local cluster) and request the actors; returns at once."""
        if self._stack is not None:
            return
        stack = ExitStack()
        try:
            stack.enter_context(ray_session(self.address))
            ray = import_ray()
            n, cpus = worker_shares(ray, self.workers, 1 << 30, self.cpus_per_worker)
            actor = ray.remote(_EmbedWorker).options(num_cpus=cpus)
            self._pool = [actor.remote(self.factory) for _ in range(n)]
        except BaseException:
            stack.close()
            raise
        self._stack = stack

    def close(self) -> None:
        """Stop the actors, and the local cluster if `start` started one."""
        if self._stack is None:
            return
        ray = import_ray()
        for a in self._pool:
            ray.kill(a)
        self._pool = []
        stack, self._stack = self._stack, None
        stack.close()

    @property
    def id(self) -> str:
        """The workers' embedder id (asked once; waits for the first actor to load)."""
        return self._describe()[0]

    @property
    def dim(self) -> int:
        """The workers' vector dimension."""
        return self._describe()[1]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed one batch on the first actor (a refresh's identity probe, say)."""
        self.start()
        return self._get(self._pool[0].embed.remote(list(texts)))

    def __call__(self, batches: Sequence[Sequence[str]]) -> Iterator[np.ndarray]:
        """Vectors of each batch, in batch order, from every actor."""
        if not batches:
            return
        self.start()
        pool = self._pool
        queued: deque = deque()
        for i, batch in enumerate(batches):
            # Two batches queued per actor keep it busy between round trips.
            if len(queued) >= 2 * len(pool):
                yield self._get(queued.popleft())
            queued.append(pool[i % len(pool)].embed.remote(list(batch)))
        while queued:
            yield self._get(queued.popleft())

    def _describe(self) -> tuple[str, int]:
        if self._identity is None:
            self.start()
            self._identity = self._get(self._pool[0].describe.remote())
        return self._identity

    def _get(self, ref: Any) -> Any:
        ray = import_ray()
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as exc:
            raise RayJobError(f"a Ray embedding worker failed: {first_line(exc)}") from None


class _EmbedWorker:
    """A Ray actor holding one embedder."""

    def __init__(self, factory: EmbedderFactory) -> None:
        self._embedder = factory()

    def describe(self) -> tuple[str, int]:
        """The embedder's id and dimension."""
        return self._embedder.id, int(self._embedder.dim)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed one batch."""
        return np.asarray(self._embedder.embed(texts), dtype=np.float32)
