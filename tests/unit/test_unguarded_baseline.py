"""The ChatCAD-style baseline: prompt content and what it does with the server's answers."""

from __future__ import annotations

import httpx
import pytest

from rag.domain import LabelSet
from rag.evaluation.drafters import EvalCase
from rag.evaluation.unguarded import UnguardedLLMDrafter, render
from rag.services import Services

pytestmark = pytest.mark.unit
CASE = EvalCase(
    "c1",
    LabelSet.from_states({"cardiomegaly": "present", "edema": "uncertain"}),
    "reference",
    "Dyspnea.",
)


def test_prompt_lists_labels_passages_and_indication(tiny_services: Services) -> None:
    msgs = render(CASE, tiny_services.kb.get(), tiny_services.pipeline.retriever)
    user = msgs[1]["content"]
    assert "- cardiomegaly: present" in user and "- pulmonary edema: possible" in user
    assert "Mild cardiomegaly." in user and "Clinical indication: Dyspnea." in user


def _drafter(svc: Services, handler) -> UnguardedLLMDrafter:
    return UnguardedLLMDrafter(
        "http://llm",
        "m",
        svc.kb.get(),
        svc.pipeline.retriever,
        transport=httpx.MockTransport(handler),
    )


def test_text_is_returned_unverified(tiny_services: Services) -> None:
    text = "FINDINGS: Large left pneumothorax. IMPRESSION: Cardiomegaly."
    d = _drafter(
        tiny_services,
        lambda r: httpx.Response(200, json={"choices": [{"message": {"content": text}}]}),
    )
    out = d.draft(CASE)
    # The baseline keeps what the guard would drop: that is what it measures.
    assert out.status == "drafted"
    assert out.sentences == ["Large left pneumothorax.", "Cardiomegaly."]


def test_server_errors_are_abstentions(tiny_services: Services) -> None:
    assert _drafter(tiny_services, lambda r: httpx.Response(500)).draft(CASE).abstention == [
        "generator_unavailable"
    ]
    empty = _drafter(
        tiny_services,
        lambda r: httpx.Response(200, json={"choices": [{"message": {"content": "  "}}]}),
    )
    assert empty.draft(CASE).abstention == ["generator_invalid_output"]
