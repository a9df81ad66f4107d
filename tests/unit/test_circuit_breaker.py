"""The circuit breaker on its own: closed -> open -> half-open -> closed or open again."""

from __future__ import annotations

import threading

import pytest

from rag.adapters.circuit_breaker import BreakerOpen, BreakerState, CircuitBreaker
from tests.fakes import FakeClock

pytestmark = pytest.mark.unit


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown_s=15.0, clock=clock)


def _fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        b.admit()
        b.record_failure()


def _refusal(b: CircuitBreaker) -> BreakerOpen:
    with pytest.raises(BreakerOpen) as info:
        b.admit()
    return info.value


def test_opens_only_after_n_consecutive_failures(breaker: CircuitBreaker) -> None:
    _fail(breaker, 2)
    breaker.admit()
    breaker.record_success()  # an answer in between resets the count
    _fail(breaker, 2)
    assert breaker.state is BreakerState.closed and breaker.retry_after_s() is None
    _fail(breaker, 1)
    assert breaker.state is BreakerState.open
    assert breaker.snapshot()["consecutive_failures"] == 3


def test_open_breaker_refuses_and_says_when_it_retries(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _fail(breaker, 3)
    clock.advance(4.2)
    err = _refusal(breaker)
    assert err.retry_after_s == pytest.approx(10.8)
    assert "circuit breaker is open" in err.message and "next try in 11 s" in err.message
    assert breaker.retry_after_s() == pytest.approx(10.8)
    snap = breaker.snapshot()
    assert snap["state"] == "open" and snap["retry_after_s"] == pytest.approx(10.8)


def test_one_trial_after_the_cool_down_and_its_success_closes(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _fail(breaker, 3)
    clock.advance(15.0)
    assert breaker.state is BreakerState.half_open
    breaker.admit()  # the trial
    err = _refusal(breaker)  # everyone else waits for it
    assert "trial request is in flight" in err.message and err.retry_after_s == 1.0
    assert breaker.snapshot()["trial_in_flight"] is True
    breaker.record_success()
    assert breaker.state is BreakerState.closed
    breaker.admit()
    assert breaker.snapshot()["consecutive_failures"] == 0


def test_a_failed_trial_reopens_for_a_full_cool_down(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _fail(breaker, 3)
    clock.advance(20.0)
    breaker.admit()
    breaker.record_failure()
    assert breaker.state is BreakerState.open
    assert _refusal(breaker).retry_after_s == pytest.approx(15.0)
    clock.advance(15.0)
    breaker.admit()  # the next trial


def test_failures_of_calls_admitted_before_opening_do_not_delay_the_retry(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    for _ in range(6):  # six calls in flight when the server dies
        breaker.admit()
    for _ in range(6):
        breaker.record_failure()
        clock.advance(1.0)
    # Opened at the third failure; the later three did not restart the cool-down.
    assert breaker.retry_after_s() == pytest.approx(15.0 - 4.0)


def test_exactly_one_of_many_racing_threads_gets_the_trial(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _fail(breaker, 3)
    clock.advance(15.0)
    start = threading.Barrier(16)
    admitted: list[int] = []

    def race(i: int) -> None:
        start.wait()
        try:
            breaker.admit()
        except BreakerOpen:
            return
        admitted.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 1


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(cooldown_s=0.0)
