"""Prometheus metrics of one app: HTTP traffic, drafting outcomes, the LLM, the KB, the encoder.

Each app owns its registry (tests build many apps in one process). Values that already live
in the services (KB version, breaker state, encoder load time) are read at scrape time by a
collector instead of being copied on every request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from rag.domain import ReportResult, Verdict

# Drafting without an LLM takes tens of milliseconds; with one on CPU, seconds to minutes.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_BREAKER_STATES = ("closed", "half_open", "open")


class Metrics:
    """The app's metrics and the one place that names them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "radrag_http_requests",
            "HTTP requests by route template, method and status code.",
            ("route", "method", "status"),
            registry=r,
        )
        self.latency = Histogram(
            "radrag_http_request_duration_seconds",
            "HTTP request latency by route template, method and status code.",
            ("route", "method", "status"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.drafts = Counter(
            "radrag_drafts",
            "Drafting decisions by route and status.",
            ("route", "status"),
            registry=r,
        )
        self.abstentions = Counter(
            "radrag_abstentions",
            "Abstention reasons by code (one abstention may give several).",
            ("reason",),
            registry=r,
        )
        self.rejections = Counter(
            "radrag_verifier_rejections",
            "Verifier reasons against sentences, by reason code prefix (state_mismatch...).",
            ("reason",),
            registry=r,
        )
        self.llm_latency = Histogram(
            "radrag_llm_request_duration_seconds",
            "Time in the generator (the LLM server for vllm) per draft, by outcome.",
            ("generator", "outcome"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def observe_result(self, result: ReportResult, route: str) -> None:
        """Count one drafting decision, its abstention reasons and the verifier's rejections."""
        self.drafts.labels(route, result.status).inc()
        if result.abstention is not None:
            for reason in result.abstention.reasons:
                self.abstentions.labels(reason.code).inc()
        for v in result.verdicts:
            if v.verdict is not Verdict.supported:
                # Only the prefix: the rest names findings and details (unbounded label values).
                for reason in v.reasons:
                    self.rejections.labels(reason.split(":", 1)[0]).inc()

    def watch_services(self, services: Any) -> None:
        """Read the KB version, breaker state and encoder load time from `services` at scrape."""
        self.registry.register(ServicesCollector(services))


class ServicesCollector(Collector):
    """Scrape-time gauges from the live services (nothing is recorded per request)."""

    def __init__(self, services: Any) -> None:
        self._svc = services

    def describe(self) -> list:
        """No fixed description: the families depend on what is loaded."""
        return []

    def collect(self) -> Iterator[Any]:
        """KB version info, LLM breaker state, image encoder load time."""
        from rag.kb.store import KBError

        svc = self._svc
        info = InfoMetricFamily("radrag_kb", "The knowledge-base version being served.")
        try:
            kb = svc.kb.get()
            info.add_metric([], {"version": kb.version, "embedder": svc.embedder.id})
            yield info
            size = GaugeMetricFamily("radrag_kb_passages", "Passages in the serving KB.")
            size.add_metric([], len(kb.passages))
            yield size
        except KBError:
            pass
        ready = GaugeMetricFamily("radrag_kb_ready", "1 when a verified KB is loaded.")
        ready.add_metric([], 1.0 if svc.kb.ready else 0.0)
        yield ready
        gen = getattr(svc.pipeline.generator, "inner", svc.pipeline.generator)
        breaker = getattr(gen, "breaker", None)
        if breaker is not None:
            g = GaugeMetricFamily(
                "radrag_llm_breaker_state",
                "The LLM circuit breaker: 1 for the current state.",
                labels=("state",),
            )
            now = breaker.state.value
            for s in _BREAKER_STATES:
                g.add_metric([s], 1.0 if s == now else 0.0)
            yield g
        load_s = getattr(svc, "encoder_load_seconds", None)
        if load_s is not None:
            g = GaugeMetricFamily(
                "radrag_image_encoder_load_seconds", "Seconds the image encoder took to load."
            )
            g.add_metric([], load_s)
            yield g


class TimedGenerator:
    """A generator that records how long each `generate` call took (forwards the rest)."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self.inner = inner
        self._metrics = metrics

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped generator and time it, failures included."""
        t0 = time.perf_counter()
        outcome = "error"
        try:
            out = self.inner.generate(*args, **kwargs)
            outcome = "ok"
            return out
        finally:
            name = getattr(self.inner, "name", "unknown")
            self._metrics.llm_latency.labels(name, outcome).observe(time.perf_counter() - t0)

    def __getattr__(self, name: str) -> Any:
        # name, model, prompt_version, describe(), breaker... stay the wrapped generator's.
        return getattr(self.inner, name)


def time_generator(services: Any, metrics: Metrics) -> None:
    """Wrap the pipeline's generator so LLM latency is recorded (re-wrapping replaces)."""
    gen = services.pipeline.generator
    services.pipeline.generator = TimedGenerator(getattr(gen, "inner", gen), metrics)
