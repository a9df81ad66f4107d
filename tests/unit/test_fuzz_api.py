"""Schema-driven fuzzing of the service's own OpenAPI document: no input gives a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from rag.api.app import create_app
from rag.config import Settings

pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

# The OpenAPI document needs no loaded services, so it is read once at collection.
SCHEMA = schemathesis.openapi.from_dict(
    create_app(settings=Settings(home=Path("/nonexistent"), auth="disabled")).openapi()
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import build_tiny_services

    svc = build_tiny_services(tmp_path_factory.mktemp("fuzz"))
    with TestClient(create_app(services=svc), raise_server_exceptions=False) as c:
        yield c


@SCHEMA.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(case, client: TestClient) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    response = client.request(**kwargs)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
