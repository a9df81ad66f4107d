"""What a verified report asserts, per finding: the only content an export may carry."""

from __future__ import annotations

from dataclasses import dataclass

from rag.domain import Finding, Report, State


@dataclass(frozen=True)
class Claim:
    """A finding's state as the report states it, with the verified sentences that say so."""

    finding: Finding
    state: State
    sentences: tuple[str, ...]


def claims(report: Report) -> list[Claim]:
    """One claim per finding the report's sentences assert, in ontology order.

    Only sentences of the report count: they passed the verifier, so each claim matches the
    label set. Verdicts and repairs (which quote rejected text) are never read here.
    """
    states: dict[Finding, State] = {}
    said: dict[Finding, list[str]] = {}
    for s in (*report.findings, *report.impression):
        for f, st in s.findings.items():
            states.setdefault(f, st)
            if st is states[f] and s.text not in said.setdefault(f, []):
                said[f].append(s.text)
    return [Claim(f, states[f], tuple(said[f])) for f in Finding if f in states]


def findings_text(report: Report) -> str:
    """The findings section as one paragraph."""
    return " ".join(s.text for s in report.findings)


def impression_text(report: Report) -> str:
    """The impression section as one paragraph."""
    return " ".join(s.text for s in report.impression)
