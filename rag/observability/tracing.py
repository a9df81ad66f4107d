"""OpenTelemetry spans for the pipeline stages, only when an exporter is configured.

Off by default: `stage_span` is then a no-op costing one global read. `configure_tracing`
builds a private TracerProvider (the process-wide one is left alone, so tests can swap
exporters) with "console" (stdout), "otlp" (needs opentelemetry-exporter-otlp-proto-http,
not a dependency of radrag) or any SpanExporter object (tests: InMemorySpanExporter).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_tracer: Any = None
_provider: Any = None


def configure_tracing(exporter: Any) -> None:
    """Start exporting spans ("none" or None turns tracing off again)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None
    if exporter in (None, "none"):
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    from rag import __version__

    provider = TracerProvider(
        resource=Resource.create({"service.name": "radrag", "service.version": __version__})
    )
    if exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif isinstance(exporter, str):
        raise ValueError(f"unknown tracing exporter {exporter!r}: none, console or otlp")
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _provider, _tracer = provider, provider.get_tracer("radrag")


@contextlib.contextmanager
def stage_span(name: str, **attributes: Any) -> Iterator[None]:
    """A span named `radrag.<name>` around a pipeline stage (nothing when tracing is off)."""
    tracer = _tracer
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(f"radrag.{name}", attributes=attributes or None):
        yield
