"""VLLMGenerator: label-constrained drafting through a vLLM server's OpenAI-compatible API.

vLLM runs as its own process (as in production); this adapter only speaks HTTP to it.
One pooled httpx client is shared by all request threads, so concurrent reports become
concurrent HTTP requests that vLLM batches. The JSON schema travels as vLLM structured
outputs; failures become GeneratorError (an explicit abstention), never unverified text.
A circuit breaker stops requests to a server that keeps failing (unreachable, timed out,
HTTP 5xx) and lets one trial through after a cool-down, so a dead server is not hammered
and the service recovers by itself when it comes back. Several servers (a comma-separated
URL list) share the requests by least outstanding requests, each behind its own breaker.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from rag.adapters.circuit_breaker import BreakerOpen, CircuitBreaker
from rag.adapters.vllm_servers import Server, ServerPool, split_urls
from rag.domain import DraftSentence, Evidence, Finding, LabelSet
from rag.labeler import RuleLabeler
from rag.ports import GeneratorError
from rag.prompts import PromptTemplate, render_draft_messages, render_slot_messages
from rag.stages.draft_schema import InvalidDraft, draft_schema, parse_draft, prompt_passages
from rag.stages.draft_slots import draft_slots, parse_slots, slot_passages, slots_schema
from rag.stages.generate import prior_changes

log = logging.getLogger(__name__)

# Transient server states worth a retry; other 4xx mean our request is wrong.
_RETRY_STATUS = {429, 500, 502, 503, 504}


class _ServerDown(Exception):
    """Every attempt failed in a way that says the server is down or overloaded."""


class VLLMGenerator:
    """Generator port over `/v1/chat/completions` with `structured_outputs: {"json": ...}`."""

    name = "vllm"

    def __init__(
        self,
        base_url: str,
        model: str,
        prompt: PromptTemplate,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 1,
        max_tokens: int = 768,
        max_connections: int = 64,
        passages_per_finding: int = 3,
        backoff_s: float = 0.5,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        urls = split_urls(base_url)
        self.base_url = ",".join(urls)
        self.model = model
        self.prompt = prompt
        self.prompt_version = prompt.id
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.passages_per_finding = passages_per_finding
        self.backoff_s = backoff_s
        # Reads a given prior report (v2 prompts state changes); rules, no I/O.
        self._labeler = RuleLabeler()
        template = breaker or CircuitBreaker()

        def make_breaker(url: str) -> CircuitBreaker:
            # One server: the given breaker itself; several: one like it per server.
            if len(urls) == 1:
                return template
            return CircuitBreaker(
                template.failure_threshold,
                template.cooldown_s,
                name=f"LLM server {url}",
                clock=template._clock,
            )

        def make_client(url: str) -> httpx.Client:
            return httpx.Client(
                base_url=url,
                timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
                limits=httpx.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
                transport=transport,
            )

        self.pool = ServerPool(urls, make_client, make_breaker)

    @property
    def breaker(self) -> CircuitBreaker:
        """The first server's breaker (the only one with a single server)."""
        return self.pool.servers[0].breaker

    def close(self) -> None:
        """Close the connection pools."""
        self.pool.close()

    def request_body(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> dict:
        """The chat-completions request (OpenAI field names, plus vLLM's structured_outputs)."""
        return {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
            # Greedy decoding: the same labels and evidence give the same draft (auditable).
            "temperature": 0.0,
            "structured_outputs": {"json": schema},
        }

    def generate(
        self,
        labels: LabelSet,
        evidence: dict[Finding, list[Evidence]],
        *,
        indication: str | None = None,
        prior_report: str | None = None,
    ) -> tuple[list[DraftSentence], list[DraftSentence]]:
        """Draft inside the label set's schema; raises GeneratorError on any failure."""
        if self.prompt.version != "v1":
            return self._generate_slots(labels, evidence, indication, prior_report)
        shown = prompt_passages(labels, evidence, self.passages_per_finding)
        if not shown:
            return [], []  # nothing citable: the decide stage abstains with reasons
        messages = render_draft_messages(self.prompt, labels, shown, indication, prior_report)
        content = self._complete(self.request_body(messages, draft_schema(labels, shown)))
        try:
            return parse_draft(content, labels, shown)
        except InvalidDraft as exc:
            msg = f"LLM output rejected: {exc}"
            raise GeneratorError("generator_invalid_output", msg) from None

    def slot_request(
        self,
        labels: LabelSet,
        evidence: dict[Finding, list[Evidence]],
        indication: str | None,
        prior_report: str | None,
    ) -> tuple[dict[str, Any], Any]:
        """The v2 request body and what its answer is parsed against (slots, passages)."""
        changes = prior_changes(labels, prior_report, self._labeler)
        body, impression = draft_slots(labels, evidence, changes)
        shown = slot_passages(body, labels, evidence)
        messages = render_slot_messages(
            self.prompt, body, impression, shown, indication, prior_report
        )
        return self.request_body(messages, slots_schema(body, impression)), (
            body,
            impression,
            shown,
        )

    def _generate_slots(
        self,
        labels: LabelSet,
        evidence: dict[Finding, list[Evidence]],
        indication: str | None,
        prior_report: str | None,
    ) -> tuple[list[DraftSentence], list[DraftSentence]]:
        request, (body, impression, shown) = self.slot_request(
            labels, evidence, indication, prior_report
        )
        if not body:
            return [], []  # nothing citable: the decide stage abstains with reasons
        content = self._complete(request)
        try:
            return parse_slots(content, body, impression, shown)
        except InvalidDraft as exc:
            msg = f"LLM output rejected: {exc}"
            raise GeneratorError("generator_invalid_output", msg) from None

    def _complete(self, body: dict[str, Any]) -> str:
        """One completion from the least busy admitted server; a failed one passes it on."""
        tried: set[str] = set()
        problems: list[str] = []
        several = len(self.pool.servers) > 1
        while len(tried) < len(self.pool.servers):
            try:
                server = self.pool.acquire(tried)
            except BreakerOpen as exc:
                if problems:
                    break  # the rest are open: report what the tried ones did
                # Fail fast: no HTTP call while every server is presumed down.
                raise GeneratorError(
                    "generator_unavailable", exc.message, retry_after_s=exc.retry_after_s
                ) from None
            tried.add(server.url)
            try:
                r = self._post(server.client, body)
            except _ServerDown as exc:
                server.breaker.record_failure()
                problems.append(f"{server.url}: {exc}" if several else str(exc))
                continue
            except BaseException:
                # Not a server fault, but the admitted call must settle (it may be the trial).
                server.breaker.record_failure()
                raise
            finally:
                self.pool.release(server)
            # The server answered: it is up, even if what it said is refused below.
            server.breaker.record_success()
            if r.status_code != 200:
                msg = f"LLM server refused the request (HTTP {r.status_code})"
                raise GeneratorError("generator_unavailable", msg)
            return self._content(r)
        waits = [w for s in self.pool.servers if (w := s.breaker.retry_after_s()) is not None]
        retry = min(waits) if len(waits) == len(self.pool.servers) else None
        raise GeneratorError("generator_unavailable", "; ".join(problems), retry_after_s=retry)

    def _post(self, client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
        """POST with bounded retries; any answer that is not a transient failure is returned."""
        problem = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                r = client.post("/v1/chat/completions", json=body)
            except httpx.TimeoutException:
                problem = "LLM server timed out"
                continue
            except httpx.RequestError as exc:
                # Refused, reset, or cut off mid-answer (a server killed in flight).
                problem = f"LLM server unreachable ({type(exc).__name__})"
                continue
            if r.status_code in _RETRY_STATUS:
                problem = f"LLM server answered HTTP {r.status_code}"
                continue
            return r
        log.warning("LLM request failed after %d attempts: %s", self.max_retries + 1, problem)
        raise _ServerDown(f"{problem} (after {self.max_retries + 1} attempts)")

    @staticmethod
    def _content(r: httpx.Response) -> str:
        try:
            choice = r.json()["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise GeneratorError(
                "generator_invalid_output", "LLM server answer is not a chat completion"
            ) from None
        if choice.get("finish_reason") == "length":
            # Truncated JSON would fail to parse anyway; say why.
            raise GeneratorError("generator_invalid_output", "LLM output truncated at max_tokens")
        if not isinstance(content, str):
            raise GeneratorError("generator_invalid_output", "LLM answer has no text content")
        return content

    def describe(self) -> dict[str, Any]:
        """Servers, model and breakers for readiness; asks each server which model it serves.

        With several servers the top-level breaker is the least blocked one's: the client
        can draft while any server admits requests.
        """
        each = [self._describe(s) for s in self.pool.servers]
        if len(each) == 1:
            return each[0]
        best = min(each, key=lambda d: _BLOCKED[d["breaker"]["state"]])
        reachable = [d for d in each if d["reachable"]]
        return {
            "server": self.base_url,
            "model": self.model,
            "reachable": bool(reachable),
            "serves_model": any(d.get("serves_model") for d in reachable),
            "weights": next((d.get("weights") for d in reachable if d.get("weights")), None),
            "breaker": best["breaker"],
            "servers": each,
        }

    def _describe(self, server: Server) -> dict[str, Any]:
        info: dict[str, Any] = {
            "server": server.url,
            "model": self.model,
            "reachable": False,
            "breaker": server.breaker.snapshot(),
        }
        # A probe outside the breaker: cheap for the server, and it shows when it is back.
        try:
            r = server.client.get("/v1/models", timeout=3.0)
            r.raise_for_status()
            served = {m["id"]: m.get("root") for m in r.json().get("data", [])}
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            info["error"] = type(exc).__name__
            return info
        info["reachable"] = True
        info["serves_model"] = self.model in served
        info["weights"] = served.get(self.model)
        return info


_BLOCKED = {"closed": 0, "half_open": 1, "open": 2}
