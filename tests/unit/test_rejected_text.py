"""Nothing the verifier rejected reaches a client: verdicts and repairs carry hashes only."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from fastapi.testclient import TestClient

from rag.api.app import create_app
from rag.domain import DraftSentence, Finding
from rag.pipeline import ReportPipeline
from rag.services import Services
from tests.fakes import ScriptedGenerator

pytestmark = pytest.mark.unit
MARKER = "Zebrafishoma of the left hilum is present."
BODY = {"labels": {"cardiomegaly": "present", "pleural_effusion": "absent"}}


def _with_generator(svc: Services, auth: str) -> Services:
    gen = ScriptedGenerator(
        [
            DraftSentence(text=MARKER, findings={Finding.cardiomegaly: "present"}),
            DraftSentence(
                text="No pleural effusion.", findings={Finding.pleural_effusion: "absent"}
            ),
        ],
        [],
    )
    p = svc.pipeline
    pipeline = ReportPipeline(svc.kb.get, p.embedder, gen, p.labeler, p.policy)
    settings = svc.settings.model_copy(update={"auth": auth})
    return dataclasses.replace(svc, pipeline=pipeline, settings=settings)


def test_rejected_sentences_are_withheld_by_default(tiny_services: Services) -> None:
    svc = _with_generator(tiny_services, "disabled")
    with TestClient(create_app(services=svc)) as c:
        r = c.post("/v1/reports", json=BODY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "Zebrafishoma" not in json.dumps(body)  # in no field at all
    rejected = [v for v in body["verdicts"] if v["verdict"] != "supported"]
    assert rejected and all(v["text"] is None for v in rejected)
    digest = hashlib.sha256(MARKER.encode()).hexdigest()
    assert digest in {v["text_sha256"] for v in rejected}
    assert body["repairs"] and body["repairs"][0]["original"] is None
    assert body["repairs"][0]["original_sha256"] == digest


def test_only_an_admin_may_ask_for_rejected_text(tiny_services: Services) -> None:
    svc = _with_generator(tiny_services, "keys")
    drafter = svc.keys.create("drafter", ["draft"])
    admin = svc.keys.create("root", ["draft", "admin"])
    with TestClient(create_app(services=svc)) as c:
        url = "/v1/reports?debug_rejected_text=true"
        denied = c.post(url, json=BODY, headers={"Authorization": f"Bearer {drafter}"})
        assert denied.status_code == 403
        assert denied.json()["detail"]["field"] == "debug_rejected_text"
        shown = c.post(url, json=BODY, headers={"Authorization": f"Bearer {admin}"})
    assert shown.status_code == 200
    assert MARKER in {v["text"] for v in shown.json()["verdicts"]}


def test_an_added_sentence_is_shown_with_no_original(tiny_services: Services) -> None:
    # The scripted draft never speaks of the effusion the labels deny: the guard adds it.
    gen = ScriptedGenerator(
        [
            DraftSentence(
                text="The heart is enlarged.",
                findings={Finding.cardiomegaly: "present"},
                evidence=("ex-1",),
            )
        ],
        [],
    )
    p = tiny_services.pipeline
    pipeline = ReportPipeline(tiny_services.kb.get, p.embedder, gen, p.labeler, p.policy)
    settings = tiny_services.settings.model_copy(update={"auth": "disabled"})
    svc = dataclasses.replace(tiny_services, pipeline=pipeline, settings=settings)
    with TestClient(create_app(services=svc)) as c:
        r = c.post("/v1/reports", json=BODY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["repairs"] == [
        {
            "original": None,
            "original_sha256": None,
            "action": "added",
            "replacement": "No pleural effusion.",
            "reasons": [],
        }
    ]
    assert [s["text"] for s in body["report"]["findings"]][-1] == "No pleural effusion."
