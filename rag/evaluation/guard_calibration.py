"""Calibrate the image path's abstention threshold with Learn-then-Test.

Cases are the `certify` patients of a labelled folder (split by patient as recorded in
the encoder folder's split.json, disjoint from the `calibrate` patients that fitted the
temperatures, bands and OOD threshold). Each image is encoded, drafted through the
pipeline without the confidence rule, and scored:
- score: the least confident finding the label set states as present or absent;
- loss: 1 if a sentence of the draft states a finding present that the reference labels
  call absent, or absent that they call present. Only what a sentence states counts:
  hedged "possible X" statements, findings the folder does not label, and "no finding"
  derived from the absence of other statements are never counted as wrong.
The threshold is then chosen by rag.evaluation.risk_control.learn_then_test.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rag.domain import DraftRequest, Finding, State
from rag.evaluation.risk_control import learn_then_test
from rag.pipeline import ReportPipeline
from rag.services import Services
from rag.stages.confidence import stated_confidence
from rag.stages.encode import combine, label_set, ood_abstention

GRID = tuple(round(i / 50, 2) for i in range(51))
# Splits that fitted something the certification must not have seen.
FITTED = frozenset({"train", "calibrate", "valid"})


def draft_loss(draft: dict[Finding, State], truth: dict[Finding, bool]) -> int:
    """1 when the draft states something the reference labels contradict."""
    for f, st in draft.items():
        if f not in truth:
            continue
        if (st is State.present and not truth[f]) or (st is State.absent and truth[f]):
            return 1
    return 0


def sentence_loss(sentences: list[str], labeler, truth: dict[Finding, bool]) -> int:
    """The docstring's loss: 1 when any one sentence states a contradicted finding."""
    return max((draft_loss(labeler.label(s), truth) for s in sentences), default=0)


def collect(services: Services, data: Path, split: str = "certify") -> list[dict[str, object]]:
    """Score and loss of every image of a split (None score: not drafted)."""
    from rag.adapters.labelled_images import load_image, open_folder, read_split

    if split in FITTED:
        raise ValueError(
            f"split {split!r} fitted the encoder or its calibration; certify on 'certify'"
        )
    encoder = services.get_image_encoder()
    folder = open_folder(data)
    root = getattr(encoder, "root", None)
    recorded = read_split(root) if root is not None else None
    records = (recorded or folder.split).select(folder.records, split)
    images = [load_image(r) for r in records]
    p = services.pipeline
    # The rule being calibrated is switched off while collecting.
    open_policy = dataclasses.replace(p.policy, min_finding_confidence=0.0)
    pipe = ReportPipeline(p._kb, p.embedder, p.generator, p.labeler, open_policy)
    rows = []
    for rec, scores in zip(records, encoder.encode_many(images), strict=True):  # type: ignore[attr-defined]
        encoding = combine([scores], [None])  # an upload's PNG carries no view either
        truth = {f: v for f, v in rec.reference.items() if f in encoding.findings}
        if ood_abstention(encoding) is not None:
            rows.append({"score": None, "loss": None, "why": "ood"})
            continue
        labels = label_set(encoding)
        result = pipe.draft(DraftRequest(labels=labels))
        if result.report is None:
            rows.append({"score": None, "loss": None, "why": "abstained"})
            continue
        sentences = [s.text for s in (*result.report.findings, *result.report.impression)]
        # No probability behind what it states (e.g. a derived finding): least confident.
        score = stated_confidence(labels)
        rows.append(
            {
                "score": 0.0 if score is None else score,
                "loss": sentence_loss(sentences, p.labeler, truth),
                "why": "drafted",
            }
        )
    return rows


def calibrate(rows: list[dict[str, object]], alpha: float, delta: float) -> dict[str, object]:
    """Run Learn-then-Test on the drafted rows and describe the outcome."""
    drafted = [r for r in rows if r["score"] is not None]
    if not drafted:
        raise ValueError("no drafted cases to calibrate on")
    scores = [float(r["score"]) for r in drafted]  # type: ignore[arg-type]
    losses = [int(r["loss"]) for r in drafted]  # type: ignore[arg-type]
    cal = learn_then_test(scores, losses, alpha, delta, GRID)
    table = []
    for lam in GRID:
        acc = [loss for s, loss in zip(scores, losses, strict=True) if s >= lam]
        if acc:
            table.append(
                {
                    "threshold": lam,
                    "coverage": len(acc) / len(rows),
                    "risk": sum(acc) / len(acc),
                    "n": len(acc),
                }
            )
    return {
        "method": "Learn-then-Test: exact binomial p-values, fixed-sequence testing from the "
        "highest threshold down (Angelopoulos et al. 2021)",
        "alpha": alpha,
        "delta": delta,
        "n_cases": len(rows),
        "n_drafted_candidates": len(drafted),
        "n_not_drafted": len(rows) - len(drafted),
        "risk_without_threshold": sum(losses) / len(losses),
        "threshold": cal.threshold,
        "coverage": cal.coverage * len(drafted) / len(rows),
        "risk": cal.risk,
        "p_value": cal.p_value,
        "certified": cal.threshold is not None,
        "table": table,
    }
