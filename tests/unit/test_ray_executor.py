"""The Ray executor's parts that need no cluster: chunking, streaming, the KB-version check.

`stream_chunks` is driven by a deterministic stand-in for the `ray` module (calls run
when submitted, `wait` answers the oldest), so the test sees every actor call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rag.domain import LabelSet
from rag.evaluation.drafters import EvalCase
from rag.evaluation.executors import CHUNK, RemoteDrafter, chunked, stream_chunks
from rag.evaluation.setup import GeneratorChoice, provenance, worker_scorer
from rag.kb.store import KBError, expect_version
from rag.services import Services, build_generator
from tests.unit.test_eval_runner import CASES

pytestmark = pytest.mark.unit


def _cases(n: int) -> list[EvalCase]:
    return [EvalCase(f"c{i}", LabelSet.from_states({}), "") for i in range(n)]


def test_chunks_keep_order_and_are_at_most_chunk_long() -> None:
    cases = _cases(200)
    chunks = chunked(cases, slots=1)
    assert [c for ch in chunks for c in ch] == cases
    assert len(chunks) == 13 and {len(ch) for ch in chunks[:-1]} == {CHUNK}
    assert len(chunks[-1]) == 200 - 12 * CHUNK


def test_few_cases_over_many_slots_go_one_per_call() -> None:
    # Three cases on three workers: one each, not one chunk of three on one worker.
    assert [len(ch) for ch in chunked(_cases(3), slots=3)] == [1, 1, 1]
    # 40 LLM cases over 2 workers x 8 threads: chunks of 3, so all 16 slots get work.
    assert max(len(ch) for ch in chunked(_cases(40), slots=16)) == 3
    assert chunked([], slots=4) == [] and len(chunked(_cases(5), slots=0)) == 1


@dataclass(eq=False)  # hashed by identity, as Ray's object refs are
class _Ref:
    actor: int
    result: list


@dataclass
class _Method:
    actor: _FakeActor

    def remote(self, chunk: list[EvalCase]) -> _Ref:
        a, ray = self.actor.index, self.actor.ray
        self.actor.calls.append([c.id for c in chunk])
        ray.in_flight[a] += 1
        ray.peak[a] = max(ray.peak[a], ray.in_flight[a])
        return _Ref(a, [{"case_id": c.id} for c in chunk])


@dataclass
class _FakeActor:
    index: int
    ray: _FakeRay
    calls: list[list[str]] = field(default_factory=list)

    @property
    def score_chunk(self) -> _Method:
        return _Method(self)


class _FakeRay:
    """`wait` answers the oldest submitted call; `get` its result."""

    def __init__(self, actors: int) -> None:
        self.in_flight = [0] * actors
        self.peak = [0] * actors

    def wait(self, refs: list[_Ref], num_returns: int) -> tuple[list[_Ref], list[_Ref]]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: _Ref) -> list:
        self.in_flight[ref.actor] -= 1
        return ref.result


def test_stream_makes_one_call_per_chunk_and_yields_every_case_once() -> None:
    ray = _FakeRay(2)
    pool = [_FakeActor(i, ray) for i in range(2)]
    cases = _cases(200)
    chunks = chunked(cases, slots=2)
    records = list(stream_chunks(ray, pool, chunks, per_actor=1))
    assert sorted(r["case_id"] for r in records) == sorted(c.id for c in cases)
    calls = pool[0].calls + pool[1].calls
    assert len(calls) == len(chunks) == 13  # not 200 round trips
    assert sorted(calls) == sorted([c.id for c in ch] for ch in chunks)
    # Both actors got work, and neither more than two calls queued at once.
    assert pool[0].calls and pool[1].calls
    assert max(ray.peak) <= 2


def test_a_remote_drafter_names_the_run_and_drafts_nothing() -> None:
    d = RemoteDrafter("extractive")
    assert d.name == "extractive"
    with pytest.raises(RuntimeError, match="workers"):
        d.draft(CASES[0])


def test_expect_version_refuses_another_kb(tmp_path: Path) -> None:
    expect_version("v2", "v2", tmp_path)
    expect_version("v2", None, tmp_path)  # a run without a KB (retrieval) expects none
    with pytest.raises(KBError, match=r"loaded knowledge base v3 .* expects v2"):
        expect_version("v3", "v2", tmp_path)


@pytest.fixture
def in_worker(monkeypatch: pytest.MonkeyPatch, tiny_services: Services) -> Callable:
    """worker_scorer over the tiny KB (its services, not the sentence-transformers ones)."""
    monkeypatch.setattr("rag.services.build_services", lambda settings: tiny_services)
    return lambda version: worker_scorer(
        tiny_services.settings, GeneratorChoice.extractive, None, False, version
    )


def test_a_worker_refuses_a_kb_other_than_the_runs(
    in_worker: Callable, tiny_services: Services
) -> None:
    loaded = tiny_services.kb.get().version
    with pytest.raises(KBError, match=rf"loaded knowledge base {loaded} .* expects v-other"):
        in_worker("v-other")
    record = in_worker(loaded)(CASES[0])
    assert record["case_id"] == "c1"


def test_provenance_matches_the_generators_a_local_run_builds(tiny_services: Services) -> None:
    # A Ray driver stamps the config from settings alone; it must be what the built
    # generator says, or results.json would differ from a local run's.
    settings = tiny_services.settings.model_copy(update={"generator": "vllm"})
    gen = build_generator(settings)
    assert provenance(GeneratorChoice.vllm, settings, "v1") == {
        "kb_version": "v1",
        "model": gen.model,  # type: ignore[attr-defined]
        "prompt_version": gen.prompt_version,  # type: ignore[attr-defined]
    }
    none = {"model": None, "prompt_version": None}
    assert provenance(GeneratorChoice.extractive, settings, "v1") == {"kb_version": "v1", **none}
    assert provenance(GeneratorChoice.retrieval, settings, None) == {"kb_version": None, **none}
