"""Stage 4b, decide: keep verified sentences, repair or drop the rest, or abstain."""

from __future__ import annotations

from dataclasses import dataclass

from rag.domain import (
    FINDING_NAMES,
    Abstention,
    AbstentionReason,
    DraftSentence,
    Evidence,
    Finding,
    LabelSet,
    Repair,
    Report,
    SentenceVerdict,
    State,
    Verdict,
)
from rag.ports import Labeler, SentenceCheck
from rag.stages import style
from rag.stages.confidence import low_confidence_reasons
from rag.stages.generate import composed_sentences, repair_candidates
from rag.stages.retrieve import talking_points
from rag.stages.verify import VerificationContext, verify_sentence


@dataclass(frozen=True)
class DecisionPolicy:
    """Thresholds of the abstention rule."""

    max_failed_fraction: float = 0.5
    min_support_score: float = 0.3
    # Findings stated present/absent need |p - 0.5| * 2 >= this (0.3: p outside 0.35-0.65).
    min_finding_confidence: float = 0.3


@dataclass(frozen=True)
class Decision:
    """The outcome of guarding one draft."""

    report: Report | None
    abstention: Abstention | None
    verdicts: tuple[SentenceVerdict, ...]
    repairs: tuple[Repair, ...]


def _guard(
    sentences: list[DraftSentence],
    ctx: VerificationContext,
    labeler: Labeler,
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    crosscheck: SentenceCheck | None,
    already: frozenset[str] = frozenset(),
) -> tuple[list[DraftSentence], list[SentenceVerdict], list[Repair]]:
    kept: list[DraftSentence] = []
    verdicts: list[SentenceVerdict] = []
    repairs: list[Repair] = []
    for s in sentences:
        v = verify_sentence(s, ctx, labeler, crosscheck)
        verdicts.append(v)
        if v.verdict is Verdict.supported:
            kept.append(s)
            continue
        # The extractive wordings for the same findings, best first: the first whose every
        # sentence verifies replaces it. A replacement never repeats a sentence the report
        # already has (an impression repaired into the findings' own combined negatives
        # would read twice).
        have = already | {k.text for k in kept}
        for alternative in repair_candidates(s, labels, evidence):
            replacement = [r for r in alternative if r.text not in have]
            if replacement and all(
                verify_sentence(r, ctx, labeler, crosscheck).verdict is Verdict.supported
                for r in replacement
            ):
                break
        else:
            replacement = []
        if replacement:
            kept += [
                r.model_copy(update={"section": s.section, "origin": "repair"}) for r in replacement
            ]
            repairs.append(
                Repair(
                    original=s.text,
                    action="replaced",
                    replacement=" ".join(r.text for r in replacement),
                    reasons=v.reasons,
                )
            )
            continue
        repairs.append(Repair(original=s.text, action="dropped", reasons=v.reasons))
    return kept, verdicts, repairs


def _complete(
    body: list[DraftSentence],
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    ctx: VerificationContext,
    labeler: Labeler,
    crosscheck: SentenceCheck | None,
) -> tuple[list[DraftSentence], list[Repair]]:
    """Say what the verified findings leave unsaid, in the report style's own sentences.

    A model may skip an entry or write less than it lists ("No atelectasis." for an entry
    of atelectasis, pneumothorax and effusion absent): every word passes, but the draft no
    longer says what the labels assess. Each added sentence is verified like any other and
    goes after the last sentence of its section or an earlier one.
    """
    said = {f: st for s in body for f, st in labeler.label(s.text).items()}
    missing = {f: st for f, st in talking_points(labels) if said.get(f) is not st}
    texts = {s.text for s in body}
    out, repairs = list(body), []
    for s in composed_sentences(missing, labels, evidence, "findings"):
        if s.text in texts:
            continue
        v = verify_sentence(s, ctx, labeler, crosscheck)
        if v.verdict is not Verdict.supported:
            continue
        rank = _section_rank(s)
        at = max((i + 1 for i, b in enumerate(out) if _section_rank(b) <= rank), default=0)
        out.insert(at, s.model_copy(update={"origin": "repair"}))
        repairs.append(Repair(original=None, action="added", replacement=s.text))
    return out, repairs


# Each finding's place in style.SECTIONS (lines and tubes first, bones last).
_SECTION_RANK = {f: i for i, (_, fs) in enumerate(style.SECTIONS) for f in fs}


def _section_rank(s: DraftSentence) -> int:
    """Where a findings sentence belongs (its earliest section; none: at the end)."""
    return min(
        (_SECTION_RANK[f] for f in s.findings if f in _SECTION_RANK), default=len(style.SECTIONS)
    )


def decide(
    labels: LabelSet,
    findings: list[DraftSentence],
    impression: list[DraftSentence],
    evidence: dict[Finding, list[Evidence]],
    ctx: VerificationContext,
    labeler: Labeler,
    policy: DecisionPolicy,
    crosscheck: SentenceCheck | None = None,
) -> Decision:
    """Verify every sentence, repair what can be repaired, and decide: draft or abstain."""
    body, v1, r1 = _guard(findings, ctx, labeler, labels, evidence, crosscheck)
    body, added = _complete(body, labels, evidence, ctx, labeler, crosscheck)
    r1 += added
    imp, v2, r2 = _guard(
        impression, ctx, labeler, labels, evidence, crosscheck, frozenset(s.text for s in body)
    )
    verdicts = tuple(v1 + v2)
    repairs = tuple(r1 + r2)
    reasons = low_confidence_reasons(labels, policy.min_finding_confidence)
    said = {f for s in body + imp for f in labeler.label(s.text)}
    for f, st in talking_points(labels):
        if st is State.absent:
            continue
        name = FINDING_NAMES[f]
        if f not in said:
            reasons.append(
                AbstentionReason(
                    code="finding_not_expressible",
                    finding=f,
                    message=f"no verified sentence could state {st.value} {name}",
                    suggestion="add a knowledge-base sentence for this finding and state",
                )
            )
        best = max((e.score for e in evidence.get(f, [])), default=None)
        if st is State.present and (best is None or best < policy.min_support_score):
            reasons.append(
                AbstentionReason(
                    code="weak_retrieval_support",
                    finding=f,
                    message=f"retrieval support for {name} is weak (best score {best})",
                    suggestion="refresh the knowledge base with passages on this finding",
                )
            )
    drafted = len(findings) + len(impression)
    failed = sum(1 for v in verdicts if v.verdict is not Verdict.supported)
    if drafted and failed / drafted > policy.max_failed_fraction:
        reasons.append(
            AbstentionReason(
                code="too_many_failed_sentences",
                message=f"{failed} of {drafted} drafted sentences failed verification",
                suggestion="review the label set; the generator could not follow it",
            )
        )
    if not body and not imp:
        reasons.append(
            AbstentionReason(code="empty_report", message="no sentence passed verification")
        )
    if reasons:
        return Decision(None, Abstention(reasons=tuple(reasons)), verdicts, repairs)
    return Decision(Report(findings=tuple(body), impression=tuple(imp)), None, verdicts, repairs)
