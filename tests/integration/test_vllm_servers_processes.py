"""Two fake OpenAI-compatible servers as real processes: spread, and one killed mid-run."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag.adapters.circuit_breaker import CircuitBreaker
from rag.adapters.vllm_generator import VLLMGenerator
from rag.prompts import load_prompt
from rag.services import Services
from tests.integration.processes import free_port
from tests.integration.test_llm_faults import FakeLLM
from tests.unit.test_vllm_generator import draft, with_generator

pytestmark = pytest.mark.integration


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[FakeLLM]]:
    fakes = [FakeLLM(free_port(), tmp_path / f"llm{i}.log") for i in range(2)]
    try:
        for f in fakes:
            f.start(delay_s=1.0)  # slow enough that concurrent drafts overlap
        yield fakes
    finally:
        for f in fakes:
            f.kill()


def test_requests_spread_and_survive_a_killed_server(
    servers: list[FakeLLM], tiny_services: Services
) -> None:
    gen = VLLMGenerator(
        ",".join(f.url for f in servers),
        "fake-llm",
        load_prompt("draft_report", "v1"),
        timeout_s=10,
        max_retries=0,
        breaker=CircuitBreaker(1, 60.0),
    )
    svc = with_generator(tiny_services, gen)
    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda _: draft(svc).status, range(8)))
    assert first == ["drafted"] * 8
    a, b = (f.stats()["requests"] for f in servers)
    assert a > 0 and b > 0 and a + b == 8  # both servers took part
    servers[0].kill()
    with ThreadPoolExecutor(8) as pool:
        after = list(pool.map(lambda _: draft(svc).status, range(8)))
    # The dead server's requests were passed on; its breaker is open, the other's closed.
    assert after == ["drafted"] * 8
    assert [s.breaker.state.value for s in gen.pool.servers] == ["open", "closed"]
    assert servers[1].stats()["requests"] >= b + 8
    gen.close()
