"""The three judges of an evaluation run: verdicts, rates, agreement, CLI table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.domain import Finding, LabelSet, State
from rag.evaluation.drafters import EvalCase, Outcome
from rag.evaluation.judges import cohen_kappa, judge_case, mesh_judge, mesh_meta, summarize
from rag.evaluation.runner import run
from rag.labeler import RuleLabeler

pytestmark = pytest.mark.unit

F, S = Finding, State


def test_mesh_judge_hallucination_needs_no_support_anywhere() -> None:
    draft = {F.cardiomegaly: S.present, F.pneumothorax: S.present, F.atelectasis: S.present}
    ref_text = {F.atelectasis: S.uncertain}  # the reference text hedges it: supported
    out = mesh_judge([draft], [ref_text], ["Cardiomegaly/mild", "Spine/degenerative"])
    assert out == {"hallucinated": ["pneumothorax"], "contradictions": []}


def test_mesh_judge_contradiction_when_every_reader_denies() -> None:
    terms = ["Pleural Effusion/left/small"]
    denied = {F.pleural_effusion: S.absent}
    assert mesh_judge([denied, denied], [{}], terms)["contradictions"] == ["pleural_effusion"]
    # one reader reads it present: not a denial
    assert (
        mesh_judge([denied, {F.pleural_effusion: S.present}], [{}], terms)["contradictions"] == []
    )
    # "normal" marks no finding, so any present finding the text lacks is a hallucination
    assert mesh_judge([{F.edema: S.present}], [{}], ["normal"])["hallucinated"] == ["edema"]


def test_mesh_meta_skips_unindexed_reports() -> None:
    assert mesh_meta(["No Indexing"]) == {} and mesh_meta([]) == {}
    assert mesh_meta(["Cardiomegaly", "Opacity/lung"]) == {
        "mesh_major": "Cardiomegaly|Opacity/lung"
    }


def test_cohen_kappa() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    assert cohen_kappa([True, False, True, False], [False, True, False, True]) == -1.0
    assert cohen_kappa([False, False], [False, False]) == 1.0  # constant and equal
    assert cohen_kappa([True, True, False, False], [True, False, False, False]) == pytest.approx(
        0.5
    )


def _record(verifier: bool, cross: bool, mesh: bool | None) -> dict[str, object]:
    flag = ["cardiomegaly"]
    return {
        "status": "drafted",
        "metrics": {"hallucinated": flag if verifier else [], "contradictions": []},
        "judges": {
            "crosscheck": {"hallucinated": flag if cross else [], "contradictions": []},
            "mesh": None
            if mesh is None
            else {"hallucinated": flag if mesh else [], "contradictions": []},
        },
    }


def test_summarize_rates_and_agreement() -> None:
    recs = [
        _record(False, True, True),
        _record(False, False, None),  # no MeSH terms: not judged by MeSH
        _record(True, True, False),
        {"status": "abstained"},
    ]
    s = summarize(recs)
    assert s["verifier"]["n_judged"] == 3 and s["verifier"][
        "hallucinated_finding_rate"
    ] == pytest.approx(1 / 3)
    assert s["crosscheck"]["hallucinated_finding_rate"] == pytest.approx(2 / 3)
    assert s["mesh"]["n_judged"] == 2 and s["mesh"]["hallucinated_finding_rate"] == 0.5
    pair = s["agreement"]["verifier~crosscheck"]["hallucination"]
    assert pair["n"] == 3 and pair["agreement"] == pytest.approx(2 / 3)
    assert s["agreement"]["crosscheck~mesh"]["hallucination"]["n"] == 2
    # a record written before the judges existed counts for the verifier only
    old = summarize([{"status": "drafted", "metrics": {"hallucinated": [], "contradictions": []}}])
    assert old["verifier"]["n_judged"] == 1 and old["crosscheck"]["n_judged"] == 0
    assert old["crosscheck"]["hallucinated_finding_rate"] is None


def test_judge_case_uses_the_judges_own_reading() -> None:
    out = judge_case(
        rule_draft={F.cardiomegaly: S.absent},
        rule_reference={F.cardiomegaly: S.absent},
        cross_draft={F.cardiomegaly: S.present},
        cross_reference={F.cardiomegaly: S.absent},
        mesh="normal",
    )
    assert out["crosscheck"]["hallucinated"] == ["cardiomegaly"]
    assert out["crosscheck"]["contradictions"] == ["cardiomegaly"]
    assert out["mesh"] == {"hallucinated": ["cardiomegaly"], "contradictions": []}
    assert judge_case({}, {}, {}, {}, None)["mesh"] is None


class FixedDrafter:
    """Returns the same text for every case."""

    name = "fixed"

    def __init__(self, text: str) -> None:
        self.text = text

    def draft(self, case: EvalCase) -> Outcome:
        return Outcome("drafted", [self.text], score=1.0)


class ReadsEverythingPresent:
    """A judge that reads pneumothorax present in drafts only (a deterministic fake)."""

    name = "fake-judge"

    def label(self, sentence: str) -> dict[Finding, State]:
        return {}

    def label_report(self, text: str) -> dict[Finding, State]:
        return {F.pneumothorax: S.present} if text.startswith("Draft") else {}


def test_run_records_every_judge(tmp_path: Path) -> None:
    case = EvalCase(
        "c1",
        LabelSet.from_states({"pleural_effusion": "absent"}),
        "No pleural effusion.",
        meta=mesh_meta(["normal"]),
    )
    cfg = {"generator": "fixed"}
    res = run(
        [case],
        FixedDrafter("Draft: no pleural effusion."),
        RuleLabeler(),
        tmp_path,
        cfg,
        progress=False,
        judge=ReadsEverythingPresent(),
    )
    rec = json.loads((tmp_path / "cases.jsonl").read_text())
    assert rec["metrics"]["hallucinated"] == []  # the verifier's labeler sees nothing wrong
    assert rec["judges"]["crosscheck"]["hallucinated"] == ["pneumothorax"]
    assert rec["judges"]["mesh"]["hallucinated"] == ["pneumothorax"]
    j = res["judges"]
    assert j["verifier"]["hallucinated_finding_rate"] == 0.0
    assert (
        j["crosscheck"]["hallucinated_finding_rate"]
        == 1.0
        == j["mesh"]["hallucinated_finding_rate"]
    )
    assert j["agreement"]["verifier~mesh"]["hallucination"]["agreement"] == 0.0
    # The judge is stamped but does not make the folder's earlier cases foreign.
    again = run(
        [case],
        FixedDrafter("Draft: no pleural effusion."),
        RuleLabeler(),
        tmp_path,
        {**cfg, "judge": "fake-judge"},
        progress=False,
        judge=ReadsEverythingPresent(),
    )
    assert again["config_hash"] == res["config_hash"]


def test_table_prints_the_three_judges(tmp_path: Path) -> None:
    judges = {
        "verifier": {"n_judged": 4, "hallucinated_finding_rate": 0.0, "contradiction_rate": 0.0},
        "crosscheck": {"n_judged": 4, "hallucinated_finding_rate": 0.25, "contradiction_rate": 0.5},
        "mesh": {"n_judged": 3, "hallucinated_finding_rate": 1 / 3, "contradiction_rate": 0.0},
        "agreement": {
            "verifier~crosscheck": {"hallucination": {"n": 4, "agreement": 0.75, "kappa": 0.0}}
        },
    }
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.json").write_text(
        json.dumps({"generator": "extractive", "n_cases": 4, "judges": judges})
    )
    cmd = [sys.executable, "-m", "rag.cli", "eval", "table", str(folder)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    start = next(i for i, line in enumerate(out) if "halluc. (verifier)" in line)
    head = [c.strip() for c in out[start].strip("|").split("|")]
    row = [c.strip() for c in out[start + 2].strip("|").split("|")]
    assert row[0] == "extractive"
    assert row[head.index("halluc. (crosscheck)")] == "0.250"
    assert row[head.index("contrad. (crosscheck)")] == "0.500"
    assert row[head.index("halluc. (MeSH)")] == "0.333"
    assert row[head.index("n MeSH")] == "3"
    assert row[head.index("kappa halluc. crosscheck~MeSH")] == "–"


def test_oracle_disagreements_count_flags_where_the_draft_said_its_labels() -> None:
    from rag.evaluation.judges import oracle_disagreements

    def rec(given: dict, read: dict, halluc: list) -> dict:
        verdict = {"draft_labels": read, "hallucinated": halluc, "contradictions": []}
        return {"status": "drafted", "inputs": {"labels": given}, "judges": {"crosscheck": verdict}}

    said_given = rec({"edema": "present"}, {"edema": "present"}, ["edema"])
    departed = rec({"edema": "absent"}, {"edema": "present"}, ["edema"])
    clean = rec({"edema": "present"}, {"edema": "present"}, [])
    assert oracle_disagreements([said_given, departed, clean]) == 1
    assert oracle_disagreements([{"status": "drafted", "inputs": {"labels": {}}}]) is None
