"""Build audit and log records from requests and results: hashes and decisions only."""

from __future__ import annotations

import logging

from rag.domain import LabelSet, ReportResult, SentenceVerdict
from rag.security.audit import digest

log = logging.getLogger("radrag.api")


def _verdicts(verdicts: tuple[SentenceVerdict, ...] | list[SentenceVerdict]) -> list[dict]:
    return [
        {"sentence_sha256": digest(v.text), "verdict": v.verdict.value, "reasons": list(v.reasons)}
        for v in verdicts
    ]


def draft_record(
    key_id: str, body: dict[str, object], labels: LabelSet, result: ReportResult, latency_ms: float
) -> dict[str, object]:
    """The audit entry of one draft (the raw indication and prior never enter it)."""
    p = result.provenance
    return {
        "action": "draft",
        "key_id": key_id,
        "input_sha256": digest(body),
        "labels": labels.as_states(),
        "kb_version": p.kb_version,
        "generator": p.generator,
        "model": p.model,
        "prompt_version": p.prompt_version,
        "verdicts": _verdicts(result.verdicts),
        "decision": result.status,
        "abstention": [r.code for r in result.abstention.reasons] if result.abstention else [],
        "repairs": [r.action for r in result.repairs],
        "latency_ms": round(latency_ms, 2),
    }


def verify_record(
    key_id: str,
    body: dict[str, object],
    labels: LabelSet,
    verdicts: list[SentenceVerdict],
    latency_ms: float,
) -> dict[str, object]:
    """The audit entry of one verification."""
    return {
        "action": "verify",
        "key_id": key_id,
        "input_sha256": digest(body),
        "labels": labels.as_states(),
        "verdicts": _verdicts(verdicts),
        "decision": "supported"
        if all(v.verdict.value == "supported" for v in verdicts)
        else "flagged",
        "latency_ms": round(latency_ms, 2),
    }
