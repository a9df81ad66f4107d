"""The review page in a real browser (Playwright driving Debian's Chromium), keyboard only:
sign in, open the study from the worklist, confirm labels, add a sentence the verifier
flags, try to sign, remove it, sign, and see the signed report counted by the monitor."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from PIL import Image

from rag.api.app import create_app
from rag.domain import Finding
from rag.services import Services
from tests.conftest import build_tiny_services
from tests.image_fakes import FakeImageEncoder

pytestmark = pytest.mark.integration
CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.path.exists(p)),
    shutil.which("chromium"),
)
UNCERTIFIED = {"certified": False, "alpha": 0.1, "risk_without_threshold": 0.31}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serving(svc: Services) -> Iterator[str]:
    """Serve the app over `svc` with uvicorn on a free loopback port."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(services=svc), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _keyed(tmp_path: Path, encoder: object) -> Services:
    base = build_tiny_services(tmp_path)
    settings = base.settings.model_copy(update={"auth": "keys"})
    return dataclasses.replace(base, settings=settings, image_encoder=encoder)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Services]]:
    """The app over tiny services with key auth and a fake, uncertified encoder."""
    encoder = FakeImageEncoder(
        {Finding.cardiomegaly: 0.9, Finding.pleural_effusion: 0.05, Finding.edema: 0.5}
    )
    encoder.guard_calibration = UNCERTIFIED  # type: ignore[attr-defined]
    svc = _keyed(tmp_path, encoder)
    with _serving(svc) as url:
        yield url, svc


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.tile((np.arange(64) * 3).astype(np.uint8), (64, 1))).save(buf, "PNG")
    return buf.getvalue()


def _tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def _enter(page) -> None:
    """Press Enter on the focused control and wait for the page it submits to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_review_and_sign_with_the_keyboard(served: tuple[str, Services]) -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium not installed (scripts/ensure_system_deps.sh installs it)")
    from playwright.sync_api import expect, sync_playwright

    url, svc = served
    drafter = svc.keys.create("modality", ["draft"])
    reviewer = svc.keys.create("dr-a", ["reviewer"])
    r = httpx.post(
        f"{url}/v1/reports/images",
        headers={"Authorization": f"Bearer {drafter}"},
        files=[("images", ("study.png", _png(), "image/png"))],
        data={"accession_number": "ACC-77", "sex": "F", "age_band": "60-79"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    draft_id = r.json()["draft_id"]
    assert r.json()["draft_status"] == "awaiting_review"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{url}/review")
        assert page.url.endswith("/review/login")
        # The key field takes the focus itself (autofocus); wait for it before typing, or a
        # slow machine types into nothing.
        expect(page.locator("#key")).to_be_focused(timeout=30_000)
        page.keyboard.type(reviewer)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{url}/review")
        assert "ACC-77" in page.content() and "awaiting_review" in page.content()
        _tab_to(page, f'a[href="/review/drafts/{draft_id}"]')
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/review/drafts/{draft_id}")
        assert page.locator("#status").inner_text() == "awaiting_review"
        assert page.locator("img").evaluate("i => i.naturalWidth") == 64  # the image loads
        # Edema was proposed as uncertain (p=0.5): the radiologist reads it as absent.
        _tab_to(page, "#label-edema")
        page.keyboard.type("absent")
        assert page.locator("#label-edema").input_value() == "absent"
        _tab_to(page, "#redraft")
        _enter(page)
        assert page.locator("#status").inner_text() == "drafted"
        assert page.locator(".sentence").count() > 0
        # A sentence that contradicts the confirmed labels is kept, flagged, and blocks signing.
        _tab_to(page, "#add-text")
        page.keyboard.type("The heart size is normal.")
        _enter(page)
        flagged = page.locator(".sentence.is-flagged")
        assert flagged.count() == 1 and "contradicted" in flagged.inner_text()
        _tab_to(page, "#sign")
        _enter(page)
        assert "flagged" in page.locator("[role=alert]").inner_text()
        _tab_to(page, ".sentence.is-flagged button[value=remove]")
        _enter(page)
        assert page.locator(".sentence.is-flagged").count() == 0
        _tab_to(page, "#sign")
        _enter(page)
        assert page.locator("#status").inner_text() == "signed"
        assert "Signed by dr-a" in page.locator("#signed-by").inner_text()
        # The signed study is counted by the monitor.
        page.goto(f"{url}/review/monitor?since=1h")
        assert page.locator("#m-signed").inner_text() == "1"
        assert "risk_not_certified" in page.content()
        browser.close()

    signed = svc.drafts.signed_report(draft_id)  # type: ignore[union-attr]
    assert signed is not None and signed["final_labels"]["edema"]["state"] == "absent"
    assert "normal" not in signed["report"]["text"]


REPO = Path(__file__).resolve().parents[2]
NIH = Path(os.environ.get("RADRAG_NIH_DATA", REPO.parent / "shared" / "data" / "nih1000"))


def test_real_encoder_on_an_nih_image(tmp_path: Path) -> None:
    """The embedded encoder on a real NIH radiograph: proposal shown, confirmed, signed."""
    if CHROMIUM is None or not (NIH / "labels.csv").is_file():
        pytest.skip(f"needs Chromium and the shared NIH subset at {NIH}")
    from playwright.sync_api import sync_playwright

    from rag.adapters.image_encoders import load_image_encoder
    from rag.config import DEFAULT_IMAGE_ENCODER

    svc = _keyed(tmp_path, load_image_encoder(DEFAULT_IMAGE_ENCODER))
    image = sorted((NIH / "test").rglob("*.png"))[0]
    key = svc.keys.create("rad", ["draft", "reviewer"])
    with _serving(svc) as url:
        r = httpx.post(
            f"{url}/v1/reports/images",
            headers={"X-API-Key": key},
            files=[("images", (image.name, image.read_bytes(), "image/png"))],
            data={"view": "PA"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["draft_status"] in ("awaiting_review", "abstained")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"{url}/review/login")
            page.fill("#key", key)
            with page.expect_navigation():  # the session cookie is set before going on
                page.click("button[type=submit]")
            page.goto(f"{url}/review/drafts/{body['draft_id']}")
            assert page.locator("img").evaluate("i => i.naturalWidth") == 64
            proposed = page.locator("table").first.inner_text()
            assert "(0." in proposed  # the encoder's probabilities are shown
            # The radiologist reads two findings (what the tiny KB can state) and signs.
            for f in Finding:
                page.select_option(f"#label-{f.value}", "")
            page.select_option("#label-cardiomegaly", "present")
            page.select_option("#label-pleural_effusion", "absent")
            with page.expect_navigation():
                page.click("#redraft")
            assert page.locator("#status").inner_text() == "drafted"
            with page.expect_navigation():
                page.click("#sign")
            assert page.locator("#status").inner_text() == "signed"
            browser.close()
    signed = svc.drafts.signed_report(body["draft_id"])  # type: ignore[union-attr]
    assert signed is not None and signed["final_labels"]["cardiomegaly"]["state"] == "present"
