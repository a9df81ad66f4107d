"""CircuitBreaker: stop calling a server that keeps failing, and try it again after a pause.

- closed: calls go through; `failure_threshold` consecutive failures open the breaker.
- open: calls are refused at once (BreakerOpen says when the next try is) for `cooldown_s`.
- half-open: once the cool-down is over, exactly one trial call goes through while the
  others are still refused; its success closes the breaker, its failure re-opens it.

Only the caller knows what a failure is (for the LLM server: unreachable, timed out or
HTTP 5xx; a malformed answer is not), so it reports each admitted call's outcome with
`record_success` / `record_failure`. Thread-safe; the clock is injectable for tests.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    """Where the breaker stands."""

    closed = "closed"
    open = "open"
    half_open = "half_open"


class BreakerOpen(RuntimeError):
    """A call refused without being tried; `retry_after_s` is when one may be tried again."""

    def __init__(self, name: str, retry_after_s: float, trial_in_flight: bool) -> None:
        self.retry_after_s = retry_after_s
        if trial_in_flight:
            why = f"{name} circuit breaker is half-open: a trial request is in flight"
        else:
            why = f"{name} circuit breaker is open after repeated failures"
        super().__init__(f"{why}; next try in {math.ceil(retry_after_s)} s")
        self.message = str(self)


class CircuitBreaker:
    """Consecutive-failure breaker with a cool-down and a single half-open trial."""

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 15.0,
        *,
        name: str = "LLM server",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown_s > 0")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None  # set while open or half-open
        self._trial_in_flight = False

    def admit(self) -> None:
        """Let a call through, or raise BreakerOpen without trying it."""
        with self._lock:
            if self._opened_at is None:
                return
            remaining = self._cooling_down_locked()
            if remaining is not None:
                raise BreakerOpen(self.name, remaining, trial_in_flight=False)
            if self._trial_in_flight:
                # A trial can take up to the request timeout; a second one would only
                # add load to a server that may still be down. One second is a hint.
                raise BreakerOpen(self.name, 1.0, trial_in_flight=True)
            self._trial_in_flight = True
            log.info("%s circuit breaker half-open: sending one trial request", self.name)

    def record_success(self) -> None:
        """The server answered: close the breaker (any answer proves it is up)."""
        with self._lock:
            if self._opened_at is not None:
                log.warning("%s circuit breaker closed: the server answered again", self.name)
            self._failures, self._opened_at, self._trial_in_flight = 0, None, False

    def record_failure(self) -> None:
        """The call failed: count it; open at the threshold, or re-open after a failed trial."""
        with self._lock:
            self._failures += 1
            now = self._clock()
            if self._trial_in_flight:
                self._trial_in_flight = False
                self._opened_at = now
                log.warning(
                    "%s circuit breaker re-opened: the trial request failed; next try in %.0f s",
                    self.name,
                    self.cooldown_s,
                )
            elif self._opened_at is None and self._failures >= self.failure_threshold:
                self._opened_at = now
                log.warning(
                    "%s circuit breaker opened after %d consecutive failures; next try in %.0f s",
                    self.name,
                    self._failures,
                    self.cooldown_s,
                )
            # Already open: calls admitted before it opened are still failing. They must not
            # push the next try further out, or a burst of them would delay recovery.

    @property
    def state(self) -> BreakerState:
        """Closed, open (cooling down) or half-open (a trial may go, or is in flight)."""
        with self._lock:
            return self._state_locked()

    def retry_after_s(self) -> float | None:
        """Seconds until the next call would be tried; None when one would be tried now."""
        with self._lock:
            if self._trial_in_flight:
                return 1.0
            return self._cooling_down_locked()

    def snapshot(self) -> dict[str, Any]:
        """State for readiness and logs (JSON-ready)."""
        with self._lock:
            remaining = self._cooling_down_locked()
            return {
                "state": self._state_locked().value,
                "consecutive_failures": self._failures,
                "failure_threshold": self.failure_threshold,
                "cooldown_s": self.cooldown_s,
                "retry_after_s": None if remaining is None else round(remaining, 3),
                "trial_in_flight": self._trial_in_flight,
            }

    def _cooling_down_locked(self) -> float | None:
        """Seconds left of the cool-down, or None when not open or the cool-down is over."""
        if self._opened_at is None:
            return None
        remaining = self._opened_at + self.cooldown_s - self._clock()
        return remaining if remaining > 0 else None

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.closed
        if self._trial_in_flight or self._cooling_down_locked() is None:
            return BreakerState.half_open
        return BreakerState.open
