"""The review page's browser auth and forms (server-rendered; the browser test drives it)."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from rag.api.app import create_app
from rag.services import Services

pytestmark = pytest.mark.unit
BODY = {"labels": {"cardiomegaly": "present", "pleural_effusion": "absent"}}


@pytest.fixture
def keyed(tiny_services: Services) -> Services:
    settings = tiny_services.settings.model_copy(update={"auth": "keys"})
    return dataclasses.replace(tiny_services, settings=settings)


def test_pages_need_a_reviewer_key_in_the_cookie(keyed: Services) -> None:
    drafter = keyed.keys.create("drafter", ["draft"])
    reviewer = keyed.keys.create("rad", ["reviewer"])
    with TestClient(create_app(services=keyed)) as c:
        draft_id = c.post("/v1/reports", json=BODY, headers={"X-API-Key": drafter}).json()[
            "draft_id"
        ]
        r = c.get("/review", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/review/login"
        assert c.post("/review/login", data={"key": drafter}).status_code == 401
        assert c.get(f"/review/drafts/{draft_id}", follow_redirects=False).status_code == 303
        r = c.post("/review/login", data={"key": reviewer}, follow_redirects=False)
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/review" in cookie
        page = c.get(f"/review/drafts/{draft_id}")
        assert page.status_code == 200 and "Sign report" in page.text
        # The key is revoked: the cookie stops working at once.
        keyed.keys.revoke("rad")
        assert c.get("/review", follow_redirects=False).status_code == 303


def test_forms_edit_and_sign(client: TestClient) -> None:
    draft_id = client.post("/v1/reports", json=BODY).json()["draft_id"]
    form = {"section": "impression", "op": "add", "text": "No pneumothorax.", "reason": "style"}
    r = client.post(f"/review/drafts/{draft_id}/text", data=form, follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    bad = {"section": "nowhere", "op": "add", "text": "x"}
    r = client.post(f"/review/drafts/{draft_id}/text", data=bad, follow_redirects=False)
    assert "error=" in r.headers["location"] and "section" in r.headers["location"]
    # Pneumothorax was not assessed: the added sentence is flagged, signing needs the box.
    r = client.post(f"/review/drafts/{draft_id}/sign", follow_redirects=False)
    assert r.status_code == 303 and "flagged" in r.headers["location"]
    data = {"acknowledge_flagged": "1"}
    r = client.post(f"/review/drafts/{draft_id}/sign", data=data, follow_redirects=False)
    assert "error" not in r.headers["location"]
    page = client.get(f"/review/drafts/{draft_id}")
    assert "Signed by" in page.text and "Sign report" not in page.text
    r = client.post(f"/review/drafts/{draft_id}/text", data=form, follow_redirects=False)
    assert "signed" in r.headers["location"]  # the error says why: it is signed
    assert f"/review/drafts/{draft_id}" in client.get("/review?status=signed").text
    assert f"/review/drafts/{draft_id}" not in client.get("/review").text
