"""/metrics after a draft and an abstention, request ids, and pipeline spans when enabled."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rag.api.app import create_app
from rag.domain import DraftRequest, LabelSet
from rag.observability.context import RequestIdFilter, request_id
from rag.observability.tracing import configure_tracing
from rag.services import Services

pytestmark = pytest.mark.unit

DRAFT = {"labels": {"cardiomegaly": "present", "pleural_effusion": "absent"}}
ABSTAIN = {"labels": {"fracture": "present"}}


def _value(text: str, name: str, **labels: str) -> float:
    """A sample's value in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return 0.0


def test_metrics_move_after_a_draft_and_an_abstention(client: TestClient) -> None:
    before = client.get("/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    b = before.text
    assert client.post("/v1/reports", json=DRAFT).json()["status"] == "drafted"
    assert client.post("/v1/reports", json=ABSTAIN).json()["status"] == "abstained"
    a = client.get("/metrics").text
    route = {"route": "/v1/reports", "method": "POST", "status": "200"}
    assert _value(a, "radrag_http_requests_total", **route) == 2 + _value(
        b, "radrag_http_requests_total", **route
    )
    assert _value(a, "radrag_http_request_duration_seconds_count", **route) == 2
    assert _value(a, "radrag_drafts_total", route="/v1/reports", status="drafted") == 1
    assert _value(a, "radrag_drafts_total", route="/v1/reports", status="abstained") == 1
    assert _value(a, "radrag_abstentions_total", reason="finding_not_expressible") == 1
    assert _value(a, "radrag_llm_request_duration_seconds_count", outcome="ok") >= 1
    assert _value(a, "radrag_kb_info", version=client.get("/readyz").json()["kb_version"]) == 1
    assert _value(a, "radrag_kb_ready") == 1
    # The scrape itself was counted, under its template; a 404 under one shared label.
    client.get("/no/such/path")
    c = client.get("/metrics").text
    assert _value(c, "radrag_http_requests_total", route="/metrics", status="200") >= 2
    assert _value(c, "radrag_http_requests_total", route="unmatched", status="404") == 1


def test_verifier_rejections_are_counted_by_prefix(tiny_services: Services) -> None:
    from rag.domain import ReportResult, SentenceVerdict, Verdict
    from rag.observability.metrics import Metrics

    m = Metrics()
    result = tiny_services.pipeline.draft(
        DraftRequest(labels=LabelSet.from_states({"edema": "absent"}))
    )
    bad = SentenceVerdict(
        text="x",
        verdict=Verdict.contradicted,
        reasons=("state_mismatch:edema:says_present:labels_absent", "detail_not_given:size:3 cm"),
    )
    m.observe_result(ReportResult(**{**dict(result), "verdicts": (bad, bad)}), "/v1/reports")
    from prometheus_client import generate_latest

    text = generate_latest(m.registry).decode()
    assert _value(text, "radrag_verifier_rejections_total", reason="state_mismatch") == 2
    assert _value(text, "radrag_verifier_rejections_total", reason="detail_not_given") == 2
    assert "edema:says" not in text  # only the prefix becomes a label


def test_breaker_state_and_encoder_load_time(tiny_services: Services) -> None:
    from rag.adapters.circuit_breaker import CircuitBreaker

    class Breaking:
        name = "vllm"
        breaker = CircuitBreaker(1, 60.0)

        def generate(self, *a, **k):
            raise AssertionError("not called")

    Breaking.breaker.record_failure()  # threshold 1: open
    tiny_services.pipeline.generator = Breaking()
    svc = dataclasses.replace(tiny_services, encoder_load_seconds=1.5)
    with TestClient(create_app(services=svc)) as c:
        text = c.get("/metrics").text
    assert _value(text, "radrag_llm_breaker_state", state="open") == 1
    assert _value(text, "radrag_llm_breaker_state", state="closed") == 0
    assert _value(text, "radrag_image_encoder_load_seconds") == 1.5


def test_metrics_off(tiny_services: Services) -> None:
    cfg = tiny_services.settings.model_copy(update={"metrics": False})
    svc = dataclasses.replace(tiny_services, settings=cfg)
    with TestClient(create_app(services=svc)) as c:
        assert c.get("/metrics").status_code == 404
        r = c.post("/v1/reports", json=DRAFT)
        assert r.status_code == 200 and r.headers["x-request-id"]


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    r = client.post("/v1/reports", json=DRAFT, headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    # A header that could forge log lines is replaced, not echoed.
    forged = client.get("/healthz", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
    assert forged != "a b\tc" and re.fullmatch(r"[0-9a-f]{32}", forged)
    # Errors carry one too (422 from validation, 404 from routing).
    assert client.post("/v1/reports", json={"labels": {}}).headers["x-request-id"]


def test_log_lines_carry_the_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="radrag.api"):
        client.post("/v1/reports", json=DRAFT, headers={"X-Request-ID": "trace-me-42"})
    drafts = [r for r in caplog.records if r.getMessage().startswith("draft ")]
    assert drafts and all(r.request_id == "trace-me-42" for r in drafts)
    assert request_id.get() == "-"  # reset after the request


def test_pipeline_spans_only_when_an_exporter_is_configured(client: TestClient) -> None:
    exporter = InMemorySpanExporter()
    client.post("/v1/reports", json=DRAFT)
    assert exporter.get_finished_spans() == ()
    configure_tracing(exporter)
    try:
        client.post("/v1/reports", json=DRAFT, headers={"X-Request-ID": "span-1"})
    finally:
        configure_tracing(None)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"radrag.http", "radrag.retrieve", "radrag.generate", "radrag.verify_decide"} <= set(
        spans
    )
    root = spans["radrag.http"]
    assert root.attributes["request_id"] == "span-1"
    for stage in ("radrag.retrieve", "radrag.generate", "radrag.verify_decide"):
        assert spans[stage].parent is not None
        assert spans[stage].context.trace_id == root.context.trace_id


def test_serve_log_format_writes_the_request_id() -> None:
    import io
    import logging.config

    from rag.observability.context import logging_config

    cfg = logging_config("INFO")
    assert cfg["handlers"]["stderr"]["filters"] == ["request_id"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(cfg["formatters"]["plain"]["format"]))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("radrag.test.format")
    logger.addHandler(handler)
    token = request_id.set("req-7")
    try:
        logger.warning("draft seq=1")
    finally:
        request_id.reset(token)
        logger.removeHandler(handler)
    assert "[request_id=req-7] draft seq=1" in stream.getvalue()
