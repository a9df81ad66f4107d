"""Several vLLM servers: least outstanding requests, open breakers routed around."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from rag.adapters.circuit_breaker import CircuitBreaker
from rag.adapters.vllm_generator import VLLMGenerator
from rag.config import Settings
from rag.domain import LabelSet
from rag.ports import GeneratorError
from rag.prompts import load_prompt
from rag.services import Services
from tests.fake_openai import FakeOpenAI
from tests.fakes import FakeClock
from tests.unit.test_vllm_generator import LABELS, draft, with_generator

pytestmark = pytest.mark.unit

URLS = "http://a.test, http://b.test/"


def two_servers(a: FakeOpenAI, b: FakeOpenAI, clock: FakeClock | None = None) -> VLLMGenerator:
    """One generator over two fake servers told apart by host name."""
    fakes = {"a.test": a, "b.test": b}
    transport = httpx.MockTransport(lambda req: fakes[req.url.host].handle(req))
    breaker = CircuitBreaker(1, 10.0, clock=clock or FakeClock())
    return VLLMGenerator(
        URLS,
        "fake-llm",
        load_prompt("draft_report", "v1"),
        transport=transport,
        backoff_s=0.0,
        max_retries=0,
        breaker=breaker,
    )


def test_settings_accept_a_list_and_refuse_a_bad_entry(tmp_path) -> None:
    s = Settings(home=tmp_path, vllm_url=URLS)
    assert s.vllm_url == "http://a.test,http://b.test"
    with pytest.raises(ValueError, match="comma-separated"):
        Settings(home=tmp_path, vllm_url="http://a.test,ftp://b.test")


def test_requests_go_to_the_server_with_fewest_in_flight(tiny_services: Services) -> None:
    slow, fast = FakeOpenAI(delay_s=2.0), FakeOpenAI()
    gen = two_servers(slow, fast)
    svc = with_generator(tiny_services, gen)
    held = threading.Thread(target=draft, args=(svc,))
    held.start()  # ties go to the first server: a.test now has one request in flight
    deadline = time.monotonic() + 10
    while slow.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slow.in_flight == 1
    for _ in range(5):
        assert draft(svc).status == "drafted"
    # Round robin would have sent two or three of these to the busy server; none went.
    assert (len(slow.requests), len(fast.requests)) == (1, 5)
    held.join()
    assert [s.outstanding for s in gen.pool.servers] == [0, 0]


def test_a_server_whose_breaker_is_open_is_routed_around(tiny_services: Services) -> None:
    dead, alive, clock = FakeOpenAI(mode="http_500"), FakeOpenAI(), FakeClock()
    gen = two_servers(dead, alive, clock)
    svc = with_generator(tiny_services, gen)
    # The first draft meets the dead server, opens its breaker and is passed to the other.
    assert draft(svc).status == "drafted"
    assert [s.breaker.state.value for s in gen.pool.servers] == ["open", "closed"]
    for _ in range(4):
        assert draft(svc).status == "drafted"
    assert (len(dead.requests), len(alive.requests)) == (1, 5)
    ready = gen.describe()
    assert ready["breaker"]["state"] == "closed" and len(ready["servers"]) == 2
    # After the cool-down one trial goes back to it; it is healthy again, so it stays in use.
    dead.mode = "ok"
    clock.advance(10.0)
    for _ in range(4):
        assert draft(svc).status == "drafted"
    assert len(dead.requests) >= 2 and gen.pool.servers[0].breaker.state.value == "closed"


def test_all_servers_down_is_an_abstention_with_a_retry_time(tiny_services: Services) -> None:
    a, b, clock = FakeOpenAI(mode="http_500"), FakeOpenAI(mode="http_500"), FakeClock()
    gen = two_servers(a, b, clock)
    labels = LabelSet.from_states(LABELS)
    with pytest.raises(GeneratorError) as first:
        gen.generate(
            labels, tiny_services.pipeline.retriever.retrieve(tiny_services.kb.get(), labels)
        )
    assert "a.test" in first.value.message and "b.test" in first.value.message
    assert first.value.retry_after_s == 10.0  # both breakers opened on this request
    sent = len(a.requests) + len(b.requests)
    clock.advance(4.0)
    with pytest.raises(GeneratorError, match="circuit breaker is open") as fast:
        gen.generate(
            labels, tiny_services.pipeline.retriever.retrieve(tiny_services.kb.get(), labels)
        )
    assert fast.value.retry_after_s == pytest.approx(6.0)
    assert len(a.requests) + len(b.requests) == sent  # no HTTP call while both are open
