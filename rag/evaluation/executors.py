"""Where an evaluation's cases are scored: threads in this process, or Ray workers.

An executor takes the cases still to do and yields one record per case as each finishes,
in any order; the runner writes and orders them. Each Ray worker builds its own drafter
and labeler from a picklable factory (models, FAISS indexes and HTTP pools do not travel),
so every worker drafts through the same pipeline code as a local run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from typing import Any, Protocol

from rag.adapters.ray_cluster import (
    RayJobError,
    first_line,
    import_ray,
    ray_session,
    worker_shares,
)
from rag.evaluation.drafters import EvalCase, Outcome

# Re-exported: what callers of an executor catch.
ExecutorError = RayJobError

Record = dict[str, object]
Scorer = Callable[[EvalCase], Record]
# Called once in each worker process; must pickle (a module-level function or a partial).
ScorerFactory = Callable[[], Scorer]

# Cases per actor call: one call costs a round trip and a task's bookkeeping (about a
# millisecond each), which is a visible share of an extractive case (40 ms here) but
# nothing next to an LLM case, where chunks shrink so every slot still gets work.
CHUNK = 16


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


class RemoteDrafter:
    """The drafter's name in a process that drafts nothing (its executor's workers do).

    With Ray the command builds no model, KB or LLM client of its own; the runner still
    names the run after the drafter.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def draft(self, case: EvalCase) -> Outcome:
        """Never called: the executor's workers draft."""
        raise RuntimeError(f"{self.name}: cases are drafted on the executor's workers")


def chunked(cases: Sequence[EvalCase], slots: int, most: int = CHUNK) -> list[list[EvalCase]]:
    """Cases in order, in chunks of at most `most`, and small enough to give every slot one.

    `slots` is the cases the workers score at once (workers x concurrency): a few cases
    with many slots go one per call, so no slot idles while another holds a whole chunk.
    """
    size = max(1, min(most, math.ceil(len(cases) / max(1, slots))))
    return [list(cases[i : i + size]) for i in range(0, len(cases), size)]


class RayExecutor:
    """Cases as Ray actor calls over a cluster (RAY_ADDRESS) or a local one started here.

    `workers` actors (default: the cluster's CPUs) each build the scorer once and score
    up to `concurrency` chunks at once (threads, for LLM batching). Chunks go to the actor
    with the fewest in flight, with a bounded queue, so a slow worker gets fewer.

    `start()` (or entering the executor) connects and requests the actors without waiting
    for them: their model loads then overlap whatever the command does before `map`.
    """

    def __init__(
        self,
        factory: ScorerFactory,
        *,
        address: str | None = None,
        workers: int | None = None,
        concurrency: int = 1,
        cpus_per_worker: float = 1.0,
        chunk: int = CHUNK,
    ) -> None:
        self.factory = factory
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self.concurrency = max(1, concurrency)
        self.cpus_per_worker = cpus_per_worker
        self.chunk = max(1, chunk)
        # Seconds spent importing Ray and starting (or joining) the cluster: a fixed cost
        # of the cluster, reported apart from the evaluation's own time.
        self.ray_seconds = 0.0
        self._pool: list[Any] = []
        self._stack: ExitStack | None = None

    def __enter__(self) -> RayExecutor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, cases: int | None = None) -> None:
        """Connect (or start a local cluster) and request the actors; returns at once.

        `cases`, when known, caps the actors at one per case.
        """
        if self._stack is not None:
            return
        t = time.perf_counter()
        stack = ExitStack()
        try:
            stack.enter_context(ray_session(self.address))
            ray = import_ray()
            self.ray_seconds = time.perf_counter() - t
            items = cases if cases is not None else 1 << 30
            n, cpus = worker_shares(ray, self.workers, items, self.cpus_per_worker)
            actor = ray.remote(_Worker).options(num_cpus=cpus, max_concurrency=self.concurrency)
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

    def map(self, cases: Sequence[EvalCase]) -> Iterator[Record]:
        """Score cases on the actors (started here, and stopped after, unless started)."""
        if not cases:
            return
        owned = self._stack is None
        self.start(len(cases))
        try:
            ray = import_ray()
            chunks = chunked(cases, len(self._pool) * self.concurrency, self.chunk)
            try:
                yield from stream_chunks(ray, self._pool, chunks, self.concurrency)
            except ray.exceptions.RayError as exc:
                raise RayJobError(f"a Ray worker failed: {first_line(exc)}") from None
        finally:
            if owned:
                self.close()


class _Worker:
    """A Ray actor: one drafter and labeler, built once in the worker process."""

    def __init__(self, factory: ScorerFactory) -> None:
        self._score = factory()

    def score_chunk(self, cases: list[EvalCase]) -> list[Record]:
        """Draft and score a chunk of cases, one after another."""
        return [self._score(c) for c in cases]


def stream_chunks(
    ray: Any, pool: Sequence[Any], chunks: Sequence[list[EvalCase]], per_actor: int
) -> Iterator[Record]:
    """Submit chunks with a bounded queue per actor (least in flight first); yield as done.

    `ray` is the module (or anything with its `wait` and `get`); each actor in `pool` has a
    `score_chunk.remote(chunk)`.
    """
    todo = list(reversed(chunks))
    load = [0] * len(pool)
    owner: dict[object, int] = {}
    limit = 2 * per_actor  # enough queued to keep an actor busy between round trips

    def submit() -> None:
        while todo:
            i = min(range(len(pool)), key=load.__getitem__)
            if load[i] >= limit:
                return
            ref = pool[i].score_chunk.remote(todo.pop())
            owner[ref], load[i] = i, load[i] + 1

    submit()
    while owner:
        ready, _ = ray.wait(list(owner), num_returns=1)
        for ref in ready:
            load[owner.pop(ref)] -= 1
            yield from ray.get(ref)
        submit()
