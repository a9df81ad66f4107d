"""`radrag serve` as a process: request ids in its log lines, /metrics and FHIR over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.processes import free_port, serve_api

pytestmark = pytest.mark.integration


def test_request_id_metrics_and_fhir_over_http(real_settings, real_kb) -> None:
    api = serve_api(real_settings, free_port(), RADRAG_AUTH="disabled")
    body = {"labels": {"pneumothorax": "present", "pleural_effusion": "absent"}}
    try:
        r = httpx.post(
            f"{api.base}/v1/reports?format=fhir",
            json=body,
            headers={"X-Request-ID": "it-req-0042"},
            timeout=60,
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == "it-req-0042"
        kinds = [e["resource"]["resourceType"] for e in r.json()["entry"]]
        assert kinds[0] == "DiagnosticReport" and "Observation" in kinds
        metrics = httpx.get(f"{api.base}/metrics", timeout=30).text
        info = [ln for ln in metrics.splitlines() if ln.startswith("radrag_kb_info{")]
        assert len(info) == 1 and f'version="{real_kb.version}"' in info[0]
        assert 'radrag_drafts_total{route="/v1/reports",status="drafted"} 1.0' in metrics
    finally:
        api.stop()
    lines = api.log.read_text(errors="replace").splitlines()
    tagged = [ln for ln in lines if "[request_id=it-req-0042]" in ln]
    # The app's draft line and uvicorn's access line both carry the id.
    assert any("draft seq=" in ln for ln in tagged), api.log_tail()
    assert any("POST /v1/reports" in ln for ln in tagged), api.log_tail()
