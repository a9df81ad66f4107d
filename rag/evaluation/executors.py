"""Where an evaluation's cases are scored: threads in this process, or Ray workers.

An executor takes the cases still to do and yields one record per case as each finishes,
in any order; the runner writes and orders them. Each Ray worker builds its own drafter
and labeler from a picklable factory (models, FAISS indexes and HTTP pools do not travel),
so every worker drafts through the same pipeline code as a local run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Protocol

from rag.adapters.ray_cluster import (
    RayJobError,
    first_line,
    import_ray,
    ray_session,
    worker_shares,
)
from rag.evaluation.drafters import EvalCase

# Re-exported: what callers of an executor catch.
ExecutorError = RayJobError

Record = dict[str, object]
Scorer = Callable[[EvalCase], Record]
# Called once in each worker process; must pickle (a module-level function or a partial).
ScorerFactory = Callable[[], Scorer]


class CaseExecutor(Protocol):
    """Scores cases; yields each record as it finishes."""

    def map(self, cases: Sequence[EvalCase]) -> Iterator[Record]:
        """Score every case, yielding records in completion order."""
        ...


class LocalExecutor:
    """`concurrency` threads in this process (an LLM server then sees concurrent requests)."""

    def __init__(self, scorer: Scorer, concurrency: int = 1) -> None:
        self.scorer, self.concurrency = scorer, max(1, concurrency)

    def map(self, cases: Sequence[EvalCase]) -> Iterator[Record]:
        """Score cases from a thread pool."""
        with ThreadPoolExecutor(self.concurrency) as pool:
            for fut in as_completed([pool.submit(self.scorer, c) for c in cases]):
                yield fut.result()


class RayExecutor:
    """Cases as Ray actor calls over a cluster (RAY_ADDRESS) or a local one started here.

    `workers` actors (default: the cluster's CPUs) each build the scorer once and score
    up to `concurrency` cases at once (threads, for LLM batching). Cases go to the actor
    with the fewest in flight, with a bounded queue, so a slow worker gets fewer.
    """

    def __init__(
        self,
        factory: ScorerFactory,
        *,
        address: str | None = None,
        workers: int | None = None,
        concurrency: int = 1,
        cpus_per_worker: float = 1.0,
    ) -> None:
        self.factory = factory
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self.concurrency = max(1, concurrency)
        self.cpus_per_worker = cpus_per_worker

    def map(self, cases: Sequence[EvalCase]) -> Iterator[Record]:
        """Score cases on Ray actors; the cluster connection lasts for this call."""
        if not cases:
            return
        with ray_session(self.address):
            ray = import_ray()
            n, cpus = worker_shares(ray, self.workers, len(cases), self.cpus_per_worker)
            actor = ray.remote(_Worker).options(num_cpus=cpus, max_concurrency=self.concurrency)
            pool = [actor.remote(self.factory) for _ in range(n)]
            try:
                yield from _stream(ray, pool, cases, self.concurrency)
            except ray.exceptions.RayError as exc:
                raise RayJobError(f"a Ray worker failed: {first_line(exc)}") from None
            finally:
                for a in pool:
                    ray.kill(a)


class _Worker:
    """A Ray actor: one drafter and labeler, built once in the worker process."""

    def __init__(self, factory: ScorerFactory) -> None:
        self._score = factory()

    def score(self, case: EvalCase) -> Record:
        """Draft and score one case."""
        return self._score(case)


def _stream(ray, pool: list, cases: Sequence[EvalCase], per_actor: int) -> Iterator[Record]:
    """Submit with a bounded queue per actor (least in flight first); yield as done."""
    todo = list(reversed(cases))
    load = [0] * len(pool)
    owner: dict[object, int] = {}
    limit = 2 * per_actor  # enough queued to keep an actor busy between round trips

    def submit() -> None:
        while todo:
            i = min(range(len(pool)), key=load.__getitem__)
            if load[i] >= limit:
                return
            ref = pool[i].score.remote(todo.pop())
            owner[ref], load[i] = i, load[i] + 1

    submit()
    while owner:
        ready, _ = ray.wait(list(owner), num_returns=1)
        for ref in ready:
            load[owner.pop(ref)] -= 1
            yield ray.get(ref)
        submit()
