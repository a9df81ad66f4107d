"""Knowledge-base embedding on Ray: batches of new text embedded by worker actors.

The refresh decides what to embed (only texts without a reusable vector, by content
hash) and builds the index once from the vectors; this only moves the embedding of those
batches onto a cluster. Each actor loads the embedder once from a picklable factory.
Vectors come back in batch order, so the result lines up with a local run's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence

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


class RayBatchEmbedder:
    """Embeds batches of texts on `workers` Ray actors (default: the cluster's CPUs)."""

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

    def __call__(self, batches: Sequence[Sequence[str]]) -> Iterator[np.ndarray]:
        """Vectors of each batch, in batch order."""
        if not batches:
            return
        with ray_session(self.address):
            ray = import_ray()
            n, cpus = worker_shares(ray, self.workers, len(batches), self.cpus_per_worker)
            actor = ray.remote(_EmbedWorker).options(num_cpus=cpus)
            pool = [actor.remote(self.factory) for _ in range(n)]
            queued: deque = deque()
            try:
                for i, batch in enumerate(batches):
                    # Two batches queued per actor keep it busy between round trips.
                    if len(queued) >= 2 * len(pool):
                        yield ray.get(queued.popleft())
                    queued.append(pool[i % len(pool)].embed.remote(list(batch)))
                while queued:
                    yield ray.get(queued.popleft())
            except ray.exceptions.RayError as exc:
                raise RayJobError(f"a Ray embedding worker failed: {first_line(exc)}") from None
            finally:
                for a in pool:
                    ray.kill(a)


class _EmbedWorker:
    """A Ray actor holding one embedder."""

    def __init__(self, factory: EmbedderFactory) -> None:
        self._embedder = factory()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed one batch."""
        return np.asarray(self._embedder.embed(texts), dtype=np.float32)
