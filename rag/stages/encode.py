"""Stage 0, encode: per-image scores -> a study's label set, or an OOD abstention."""

from __future__ import annotations

from collections.abc import Sequence

from rag.domain import (
    AbstentionReason,
    Finding,
    FindingEstimate,
    FindingLabel,
    ImageEncoding,
    ImageScores,
    LabelSet,
    State,
)

# The encoder is trained on frontal (PA/AP) radiographs only.
FRONTAL_VIEWS = frozenset({"PA", "AP"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLD", "RLD"})


def _view_problem(view: str | None) -> str | None:
    if view is None:
        return None
    v = view.strip().upper()
    if v in LATERAL_VIEWS or "LAT" in v:
        return f"view position {v} is not frontal; the encoder reads frontal views only"
    return None


def combine(scores: Sequence[ImageScores], views: Sequence[str | None]) -> ImageEncoding:
    """Combine the images of one study: mean calibrated probability, OOD if any image is."""
    if not scores:
        raise ValueError("a study needs at least one image")
    reason = None
    for i, (s, v) in enumerate(zip(scores, views, strict=True)):
        problem = _view_problem(v)
        over = (
            s.ood_score is not None
            and s.ood_threshold is not None
            and s.ood_score > s.ood_threshold
        )
        if problem is None and over:
            problem = (
                f"OOD score {s.ood_score:.2f} exceeds the in-distribution limit "
                f"{s.ood_threshold:.2f}"
            )
        if problem is not None and reason is None:
            reason = f"images[{i}]: {problem}"
    first = scores[0]
    findings: dict[Finding, FindingEstimate] = {}
    for f in Finding:
        if f not in first.probabilities:
            continue
        p = sum(s.probabilities[f] for s in scores) / len(scores)
        findings[f] = FindingEstimate(probability=p, state=first.bands[f].state(p))
    findings = _consistent(findings)
    return ImageEncoding(
        findings=findings,
        not_assessed=tuple(f for f in Finding if f not in findings),
        view_positions=tuple(views),
        ood_scores=tuple(s.ood_score for s in scores),
        ood_threshold=first.ood_threshold,
        out_of_distribution=reason is not None,
        ood_reason=reason,
        encoder=first.encoder,
    )


def _consistent(findings: dict[Finding, FindingEstimate]) -> dict[Finding, FindingEstimate]:
    # "No finding" may only be present when every other assessed finding is absent; any
    # other band means the study is not clearly normal, so no_finding steps down with it.
    nf = findings.get(Finding.no_finding)
    if nf is None or nf.state is State.absent:
        return findings
    others = {
        e.state
        for f, e in findings.items()
        if f not in (Finding.no_finding, Finding.support_devices)
    }
    if State.present in others:
        new = State.absent
    elif State.uncertain in others:
        new = State.uncertain
    else:
        return findings
    return {**findings, Finding.no_finding: nf.model_copy(update={"state": new})}


def label_set(encoding: ImageEncoding) -> LabelSet:
    """The label set a report may state; unassessed findings are left out, never guessed."""
    return LabelSet(
        findings={
            f: FindingLabel(state=e.state, probability=round(e.probability, 4))
            for f, e in encoding.findings.items()
        }
    )


def ood_abstention(encoding: ImageEncoding) -> AbstentionReason | None:
    """The abstention reason when the study is out of the encoder's distribution."""
    if not encoding.out_of_distribution:
        return None
    return AbstentionReason(
        code="image_out_of_distribution",
        message=encoding.ood_reason or "the image is outside the encoder's training distribution",
        suggestion="send a frontal chest radiograph, or report this study without the encoder",
    )
