"""A deterministic fake of vLLM's OpenAI-compatible chat API, as an httpx transport.

It reads the JSON schema the client sends in `structured_outputs` and answers inside it,
the way a constrained decoder would: the enums fix finding, state and evidence; the text
is the plainest sentence for the finding and state. Modes make it misbehave on purpose.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from rag.domain import FINDING_NAMES, Finding

_PHRASE = {"present": "{Name} is present.", "absent": "No {name}.", "uncertain": "Possible {name}."}


def sentence_for(finding: str, state: str) -> str:
    """The sentence the fake model writes for one finding in one state."""
    name = FINDING_NAMES[Finding(finding)]
    return _PHRASE[state].format(name=name, Name=name[0].upper() + name[1:])


def _v2_entry(item: dict[str, Any], impression: bool) -> dict[str, Any]:
    """One slot entry: the slot's label as given, the first position cited, a plain sentence."""
    p = item["properties"]
    about = p["about"]["enum"][0]
    out: dict[str, Any] = {"about": about}
    if "cite" in p:
        out["cite"] = [p["cite"]["items"]["enum"][0]]
    head, rest = about.split(": ", 1)
    findings, state = head.split(", "), rest.split(";")[0]
    names = [FINDING_NAMES[Finding(f)] for f in findings]
    if len(names) > 1:
        out["text"] = (
            "No acute cardiopulmonary abnormality."
            if impression
            else "No " + " or ".join(names) + "."
        )
    elif impression and state == "present":
        out["text"] = names[0][0].upper() + names[0][1:] + " is seen."
    else:
        out["text"] = sentence_for(findings[0], state)
    return out


def answer_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON object that satisfies the draft schema (first allowed value of each enum)."""
    if schema["properties"]["impression"].get("type") == "array":  # prompt v2: slots
        return {
            "findings": [
                _v2_entry(i, False) for i in schema["properties"]["findings"]["prefixItems"]
            ],
            "impression": [
                _v2_entry(i, True) for i in schema["properties"]["impression"]["prefixItems"]
            ],
        }
    entries = []
    for item in schema["properties"]["findings"]["prefixItems"]:
        p = item["properties"]
        finding, state = p["finding"]["enum"][0], p["state"]["enum"][0]
        entries.append(
            {
                "finding": finding,
                "state": state,
                "text": sentence_for(finding, state),
                "evidence": [p["evidence"]["items"]["enum"][0]],
            }
        )
    first = entries[0] if entries else None
    impression = {
        "text": first["text"] if first else "No acute abnormality.",
        "evidence": first["evidence"] if first else [],
    }
    return {"findings": entries, "impression": impression}


class FakeOpenAI:
    """Handler for httpx.MockTransport; records requests and concurrency."""

    def __init__(self, mode: str = "ok", model: str = "fake-llm", delay_s: float = 0.0) -> None:
        self.mode = mode
        self.model = model
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.edit: Any = None  # optional callable(answer) -> answer, to script bad drafts

    def transport(self) -> httpx.MockTransport:
        """An httpx transport served by this fake."""
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one HTTP request."""
        if request.url.path == "/v1/models":
            root = f"/models/{self.model}"
            return httpx.Response(200, json={"data": [{"id": self.model, "root": root}]})
        body = json.loads(request.content)
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            return self._chat(body, request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _chat(self, body: dict[str, Any], request: httpx.Request) -> httpx.Response:
        if self.mode == "http_500":
            return httpx.Response(500, json={"error": "engine dead"})
        if self.mode == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        answer = answer_schema(body["structured_outputs"]["json"])
        if self.edit is not None:
            answer = self.edit(answer)
        if self.mode == "schema_violation":
            del answer["impression"]  # valid JSON that a constrained decoder could not emit
        content = json.dumps(answer)
        finish = "stop"
        if self.mode == "invalid_json":
            content = content[: len(content) // 2]
        elif self.mode == "truncated":
            finish = "length"
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish,
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            },
        )
