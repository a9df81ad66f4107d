"""Metric functions against hand-computed values and the libraries' own outputs."""

from __future__ import annotations

import math

import pytest

from rag.domain import Finding, State
from rag.evaluation import metrics as m

pytestmark = pytest.mark.unit
F, P, A, U = Finding, State.present, State.absent, State.uncertain


def test_hallucination_and_contradiction() -> None:
    ref = {F.cardiomegaly: P, F.pleural_effusion: A, F.edema: U}
    draft = {F.cardiomegaly: P, F.pleural_effusion: P, F.edema: P, F.fracture: P, F.no_finding: P}
    assert set(m.hallucinated(draft, ref)) == {F.pleural_effusion, F.edema, F.fracture}
    assert set(m.contradictions(draft, ref)) == {F.pleural_effusion, F.edema}
    assert m.hallucinated({F.cardiomegaly: P}, ref) == []


def test_f1_by_hand() -> None:
    refs = [{F.cardiomegaly: P}, {F.cardiomegaly: P, F.edema: P}, {F.edema: A}]
    drafts = [{F.cardiomegaly: P}, {F.edema: P}, {F.edema: P}]
    # cardiomegaly: tp1 fn1 -> 2/3; edema: tp1 fp1 -> 2/3; micro: tp2 fp1 fn1 -> 4/6.
    res = m.f1_scores(drafts, refs)
    assert res["micro"] == pytest.approx(2 / 3)
    assert res["per_finding"]["cardiomegaly"] == pytest.approx(2 / 3)
    assert res["per_finding"]["edema"] == pytest.approx(2 / 3)
    assert math.isnan(res["per_finding"]["fracture"])
    assert res["macro"] == pytest.approx(2 / 3)
    five = m.chexpert_f1(drafts, refs)
    assert five["chexpert_f1_micro_5"] == pytest.approx(2 / 3)


def test_bleu_and_rouge_match_the_libraries() -> None:
    import sacrebleu
    from rouge_score import rouge_scorer

    hyp = ["the heart is enlarged . no effusion .", "lungs are clear ."]
    ref = ["the heart is mildly enlarged . no pleural effusion .", "the lungs are clear ."]
    assert m.bleu4(hyp, ref) == pytest.approx(sacrebleu.corpus_bleu(hyp, [ref]).score / 100)
    sc = rouge_scorer.RougeScorer(["rougeL"])
    want = sum(sc.score(r, h)["rougeL"].fmeasure for h, r in zip(hyp, ref, strict=True)) / 2
    assert m.rouge_l(hyp, ref) == pytest.approx(want)
    assert m.bleu4(["a b c d"], ["a b c d"]) == pytest.approx(1.0)
    # ROUGE-L by hand: LCS("a b c", "a c") = 2, P = 1, R = 2/3, F = 0.8.
    assert m.rouge_l(["a c"], ["a b c"]) == pytest.approx(0.8)


def test_selective_risk() -> None:
    scores = [0.9, 0.8, None, 0.1]
    losses = [0, 1, None, 1]
    assert m.selective_risk(scores, losses, 0.25) == 0.0
    assert m.selective_risk(scores, losses, 0.5) == 0.5
    assert m.selective_risk(scores, losses, 0.75) == pytest.approx(2 / 3)
    assert m.selective_risk(scores, losses, 1.0) is None  # only 3 of 4 drafted
    curve = m.coverage_risk_curve(scores, losses, steps=4)
    assert curve == [(0.25, 0.0), (0.5, 0.5), (0.75, pytest.approx(2 / 3))]
