"""Report-level metrics, as pure functions over label dicts and texts.

Conventions (stated because the literature varies):
- Labels come from the project's labeler applied to both the draft and the reference
  (CheXpert-style evaluation); `no_finding` is derived, so it is left out of the
  hallucination and contradiction counts.
- A draft "hallucinates" when it asserts a finding present that the reference does not
  assert present. It "contradicts" when a finding both mention has different states
  (presence, absence or certainty); a "hard" contradiction is present against absent or
  the reverse (hedged statements excluded), the loss the image guard is calibrated on.
- F1 is over the positive class (`present`) of the 14 findings, on drafted reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rag.domain import COMMON_FIVE, Finding, State

Labels = dict[Finding, State]
# The headline metrics of results.json; all higher-is-better except LOWER_IS_BETTER.
HEADLINE = (
    "coverage",
    "hallucinated_finding_rate",
    "contradiction_rate",
    "hard_contradiction_rate",
    "unsupported_sentence_rate",
    "chexpert_f1_micro",
    "chexpert_f1_macro",
    "chexpert_f1_micro_5",
    "bleu4",
    "rouge_l",
)
LOWER_IS_BETTER = frozenset(
    {
        "hallucinated_finding_rate",
        "contradiction_rate",
        "hard_contradiction_rate",
        "unsupported_sentence_rate",
    }
)
_SKIP = (Finding.no_finding,)


def hallucinated(draft: Labels, reference: Labels) -> list[Finding]:
    """Findings the draft asserts present that the reference does not."""
    return [
        f
        for f, s in draft.items()
        if f not in _SKIP and s is State.present and reference.get(f) is not State.present
    ]


def contradictions(draft: Labels, reference: Labels) -> list[Finding]:
    """Findings both mention with different states."""
    return [
        f for f, s in draft.items() if f not in _SKIP and f in reference and reference[f] is not s
    ]


def hard_contradictions(draft: Labels, reference: Labels) -> list[Finding]:
    """Findings the draft states present that the reference says absent, or the reverse."""
    flip = {State.present: State.absent, State.absent: State.present}
    return [
        f for f, s in draft.items() if f not in _SKIP and s in flip and reference.get(f) is flip[s]
    ]


def f1_scores(
    drafts: Sequence[Labels],
    references: Sequence[Labels],
    findings: Sequence[Finding] = tuple(Finding),
) -> dict[str, object]:
    """Micro and macro F1 of the positive class, and F1 per finding."""
    per: dict[str, float] = {}
    tp_all = fp_all = fn_all = 0
    for f in findings:
        tp = sum(
            1
            for d, r in zip(drafts, references, strict=True)
            if d.get(f) is State.present and r.get(f) is State.present
        )
        fp = sum(
            1
            for d, r in zip(drafts, references, strict=True)
            if d.get(f) is State.present and r.get(f) is not State.present
        )
        fn = sum(
            1
            for d, r in zip(drafts, references, strict=True)
            if d.get(f) is not State.present and r.get(f) is State.present
        )
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        per[f.value] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
    micro = 2 * tp_all / (2 * tp_all + fp_all + fn_all) if tp_all + fp_all + fn_all else 0.0
    defined = [v for v in per.values() if not math.isnan(v)]
    macro = sum(defined) / len(defined) if defined else 0.0
    return {"micro": micro, "macro": macro, "per_finding": per}


def chexpert_f1(drafts: Sequence[Labels], references: Sequence[Labels]) -> dict[str, object]:
    """F1 over the 14 findings and over the five common ones."""
    all14 = f1_scores(drafts, references)
    five = f1_scores(drafts, references, COMMON_FIVE)
    return {
        "chexpert_f1_micro": all14["micro"],
        "chexpert_f1_macro": all14["macro"],
        "chexpert_f1_micro_5": five["micro"],
        "chexpert_f1_per_finding": all14["per_finding"],
    }


def import_text_scorers() -> None:
    """Import sacrebleu and rouge-score now instead of at the first score.

    rouge-score imports nltk, about 1.2 s of this run's fixed cost on these machines.
    """
    import sacrebleu  # noqa: F401
    from rouge_score import rouge_scorer  # noqa: F401


def bleu4(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 (sacrebleu, default 13a tokenisation), on a 0-1 scale."""
    import sacrebleu

    if not hypotheses:
        return 0.0
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score / 100


def rouge_l(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure (rouge-score, no stemming)."""
    from rouge_score import rouge_scorer

    if not hypotheses:
        return 0.0
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    scores = [
        scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hypotheses, references, strict=True)
    ]
    return sum(scores) / len(scores)


def selective_risk(
    scores: Sequence[float | None], losses: Sequence[int | None], coverage: float
) -> float | None:
    """Risk among the `coverage` most confident cases; None if fewer cases were drafted.

    Abstained cases have score None and loss None; ties keep the input order.
    """
    n = len(scores)
    k = math.ceil(coverage * n)
    ranked = sorted((i for i in range(n) if scores[i] is not None), key=lambda i: -float(scores[i]))  # type: ignore[arg-type]
    if k == 0 or len(ranked) < k:
        return None
    chosen = ranked[:k]
    return sum(int(losses[i] or 0) for i in chosen) / k


def coverage_risk_curve(
    scores: Sequence[float | None], losses: Sequence[int | None], steps: int = 20
) -> list[tuple[float, float]]:
    """(coverage, risk) points from 1/steps to the drafted fraction."""
    out = []
    for i in range(1, steps + 1):
        r = selective_risk(scores, losses, i / steps)
        if r is not None:
            out.append((i / steps, r))
    return out
