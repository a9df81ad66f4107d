"""Learn-then-Test on reviewed cases: the encoder's proposal scored against signed labels.

A case's score is the confidence of the proposed label set (stated_confidence) and its loss
is 1 when the proposal states a finding present that the reviewer signed absent, or absent
that the reviewer signed present (rag.evaluation.guard_calibration.draft_loss): the draft
states the label set, and the verifier keeps its text to it. Only cases held apart from any
fitting are used: a fixed hash of the case id picks the certification share, and an
exclusion list removes cases known to have been used for fitting.
"""

from __future__ import annotations

import hashlib

from rag.domain import Finding, FindingLabel, LabelSet, State
from rag.evaluation.guard_calibration import calibrate, draft_loss
from rag.review.monitor import SignedCase
from rag.stages.confidence import stated_confidence


def held_out(case_id: str, share: float) -> bool:
    """Whether a case belongs to the certification share (stable across runs)."""
    h = int(hashlib.sha256(case_id.encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < share


def case_row(case: SignedCase) -> dict[str, object] | None:
    """Score and loss of one reviewed case (None without a proposal)."""
    if not case.proposed or not case.proposed_states:
        return None
    findings = {
        Finding(f): FindingLabel(state=State(case.proposed_states[f]), probability=p)
        for f, p in case.proposed.items()
    }
    score = stated_confidence(LabelSet(findings=findings))
    said = {Finding(f): State(s) for f, s in case.proposed_states.items()}
    truth = {
        Finding(f): s == "present" for f, s in case.final.items() if s in ("present", "absent")
    }
    return {"score": 0.0 if score is None else score, "loss": draft_loss(said, truth)}


def recertify(
    cases: list[SignedCase],
    alpha: float,
    delta: float,
    share: float = 1.0,
    exclude: frozenset[str] = frozenset(),
) -> dict[str, object]:
    """The Learn-then-Test certificate over the held-out reviewed cases."""
    kept = [
        c
        for c in cases
        if held_out(c.case_id, share)
        and c.case_id not in exclude
        and (c.accession_number or "") not in exclude
    ]
    rows = [r for r in (case_row(c) for c in kept) if r is not None]
    if not rows:
        raise ValueError("no reviewed image cases to certify on in this window")
    result = calibrate(rows, alpha, delta)
    ids = sorted(c.case_id for c in kept)
    return result | {
        "source": "reviewed cases (signed reports vs the encoder's proposal)",
        "holdout_share": share,
        "excluded": len(cases) - len(kept),
        "cases_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
    }
