"""Subgroup aggregation, encoder reliability bins and NIH reference labels, by hand."""

from __future__ import annotations

import random

import numpy as np
import pytest

from rag.adapters.nih_images import NIH_LABELLED, reference_states
from rag.domain import Finding, State
from rag.encoder.calibration import ece
from rag.evaluation.aggregate import age_band, aggregate, subgroups
from rag.evaluation.reliability import (
    encoder_pairs,
    expected_calibration_error,
    reliability_bins,
)

pytestmark = pytest.mark.unit


def _rec(
    meta: dict[str, str],
    drafted: bool,
    ref: dict[str, str] | None = None,
    draft: dict[str, str] | None = None,
    hallucinated: list[str] | None = None,
    contradictions: list[str] | None = None,
) -> dict[str, object]:
    rec: dict[str, object] = {
        "status": "drafted" if drafted else "abstained",
        "meta": meta,
        "reference": None,
        "reference_labels": ref or {},
        "abstention": [] if drafted else ["risk_not_certified"],
        "score": 1.0 if drafted else None,
    }
    if drafted:
        rec |= {
            "draft": "text",
            "draft_labels": draft or {},
            "metrics": {
                "hallucinated": hallucinated or [],
                "contradictions": contradictions or [],
                "hard_contradictions": [],
                "n_sentences": 1,
                "n_unsupported": 0,
            },
        }
    return rec


def _meta(sex: str, band: str, view: str) -> dict[str, str]:
    return {"sex": sex, "age_band": band, "view_position": view, "patient": "p"}


# r1 F/40-59/PA: cardiomegaly right (tp), edema said present but absent (fp, hallucinated,
#   contradiction). r2 F/60+/AP: effusion said absent but present (fn, contradiction).
# r3 M/60+/PA: atelectasis right (tp). r4 M/<40/PA and r5 F/60+/PA abstained.
RECORDS = [
    _rec(
        _meta("F", "40-59", "PA"),
        True,
        {"cardiomegaly": "present", "edema": "absent"},
        {"cardiomegaly": "present", "edema": "present"},
        ["edema"],
        ["edema"],
    ),
    _rec(
        _meta("F", "60+", "AP"),
        True,
        {"pleural_effusion": "present"},
        {"pleural_effusion": "absent"},
        [],
        ["pleural_effusion"],
    ),
    _rec(_meta("M", "60+", "PA"), True, {"atelectasis": "present"}, {"atelectasis": "present"}),
    _rec(_meta("M", "<40", "PA"), False),
    _rec(_meta("F", "60+", "PA"), False),
]


def test_subgroups_by_hand() -> None:
    got = subgroups(RECORDS)
    assert list(got) == ["sex", "age_band", "view_position"]
    assert list(got["age_band"]) == ["<40", "40-59", "60+"]  # band order, not alphabetical
    f = got["sex"]["F"]
    assert (f["n_cases"], f["n_drafted"]) == (3, 2)
    assert f["coverage"] == pytest.approx(2 / 3)
    assert f["hallucinated_finding_rate"] == pytest.approx(1 / 2)
    assert f["contradiction_rate"] == pytest.approx(1.0)
    assert f["chexpert_f1_micro"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))  # tp1 fp1 fn1
    m = got["sex"]["M"]
    assert (m["n_cases"], m["coverage"], m["chexpert_f1_micro"]) == (2, 0.5, 1.0)
    assert m["hallucinated_finding_rate"] == 0.0 and m["contradiction_rate"] == 0.0
    # Nothing drafted: coverage 0, the rates are undefined rather than perfect.
    young = got["age_band"]["<40"]
    assert young == {
        "n_cases": 1,
        "n_drafted": 0,
        "coverage": 0.0,
        "hallucinated_finding_rate": None,
        "contradiction_rate": None,
        "hard_contradiction_rate": None,
        "chexpert_f1_micro": None,
    }
    old = got["age_band"]["60+"]
    assert old["coverage"] == pytest.approx(2 / 3)
    assert old["contradiction_rate"] == pytest.approx(1 / 2)
    assert old["chexpert_f1_micro"] == pytest.approx(2 / 3)  # tp1 fn1
    pa, ap = got["view_position"]["PA"], got["view_position"]["AP"]
    assert (pa["n_cases"], pa["coverage"]) == (4, 0.5)
    assert pa["chexpert_f1_micro"] == pytest.approx(0.8)  # tp2 fp1
    assert (ap["n_cases"], ap["contradiction_rate"], ap["chexpert_f1_micro"]) == (1, 1.0, 0.0)


def test_no_demographics_no_subgroups() -> None:
    assert subgroups([_rec({}, True), _rec({}, False)]) == {}


def test_age_bands() -> None:
    assert [age_band(a) for a in (None, 0, 39, 40, 59, 60, 94)] == [
        "unknown",
        "<40",
        "<40",
        "40-59",
        "40-59",
        "60+",
        "60+",
    ]


def test_reliability_bins_by_hand() -> None:
    probs = [0.05, 0.15, 0.12, 0.95, 0.92, 0.55]
    truth = [0, 0, 1, 1, 1, 0]
    bins = reliability_bins(probs, truth, n_bins=10)
    assert [b.n for b in bins] == [1, 2, 0, 0, 0, 1, 0, 0, 0, 2]
    assert (bins[1].lo, bins[1].hi) == (0.1, 0.2)
    assert bins[1].mean_probability == pytest.approx(0.135)
    assert bins[1].observed_frequency == pytest.approx(0.5)
    assert bins[9].mean_probability == pytest.approx(0.935)
    assert bins[9].observed_frequency == 1.0
    assert bins[2].mean_probability is None and bins[2].observed_frequency is None
    # (1 x 0.05 + 2 x 0.365 + 1 x 0.55 + 2 x 0.065) / 6
    assert expected_calibration_error(bins) == pytest.approx(1.46 / 6)
    assert expected_calibration_error(reliability_bins([], [])) is None


def test_reliability_matches_the_encoder_ece() -> None:
    rng = random.Random(3)
    # Bin edges included: 0.0, 0.3 (a float edge), 1.0.
    probs = [rng.random() for _ in range(500)] + [0.0, 0.3, 1.0, 0.1]
    truth = [int(rng.random() < p) for p in probs]
    want = ece(np.array(probs), np.array(truth, dtype=float))
    assert expected_calibration_error(reliability_bins(probs, truth)) == pytest.approx(want)


def test_pairs_need_both_an_encoder_probability_and_a_reference_label() -> None:
    rec = {
        "inputs": {"probabilities": {"edema": 0.8, "cardiomegaly": 0.2}},
        "reference_labels": {"edema": "present", "pneumonia": "absent"},
    }
    assert encoder_pairs([rec, {"inputs": {}, "reference_labels": {}}]) == ([0.8], [True])


def test_iu_style_results_have_no_reliability_and_empty_subgroups() -> None:
    rec = _rec({}, True, {"edema": "present"}, {"edema": "present"})
    rec["reference"] = "Edema."
    rec["inputs"] = {"labels": {"edema": "present"}}
    res = aggregate([rec])
    assert res["subgroups"] == {} and "encoder_reliability" not in res
    assert isinstance(res["bleu4"], float)
    rec["reference"] = None  # a label-only dataset: text metrics are undefined
    assert aggregate([rec])["bleu4"] is None and aggregate([rec])["rouge_l"] is None


def test_nih_reference_states() -> None:
    ref = reference_states(frozenset({"Mass", "Nodule", "Emphysema", "Effusion"}))
    assert set(ref) == NIH_LABELLED
    assert ref[Finding.lung_lesion] is State.present  # Mass and Nodule both map here
    assert ref[Finding.pleural_effusion] is State.present
    assert ref[Finding.cardiomegaly] is State.absent
    assert ref[Finding.no_finding] is State.absent
    # Not labelled by NIH: never called absent, so a draft about them cannot be "wrong".
    for f in (Finding.fracture, Finding.support_devices, Finding.enlarged_cardiomediastinum):
        assert f not in ref
    normal = reference_states(frozenset({"No Finding"}))
    assert normal[Finding.no_finding] is State.present
    assert all(s is State.absent for f, s in normal.items() if f is not Finding.no_finding)


def test_html_report_shows_subgroups_and_the_reliability_diagram(tmp_path) -> None:
    from rag.evaluation import html_report

    records = [dict(r) for r in RECORDS]
    for r in records:
        r |= {"case_id": "c", "inputs": {"probabilities": {"edema": 0.3, "cardiomegaly": 0.8}}}
        r["reference_labels"] = {"edema": "absent", "cardiomegaly": "present"}
    for r in records:
        if r["status"] == "drafted":
            r["sentence_verdicts"] = []
    res = aggregate(records) | {"generator": "extractive", "uncertified_encoder_ok": True}
    page = html_report.write(tmp_path, res, records).read_text()
    assert (tmp_path / "encoder_reliability.png").stat().st_size > 1000
    assert "<h2>Subgroups</h2>" in page and "<td>40-59</td>" in page
    assert "expected calibration error (ECE) 0.2500" in page  # |0.3 - 0| and |0.8 - 1| pooled
    assert "Research run" in page and "n/a" in page  # bleu4 is undefined without reports
