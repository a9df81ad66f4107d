"""The challenge sets' loader, the per-kind/per-check metrics and the MeSH label sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.adapters.iu_xray import IUReport
from rag.cli import app
from rag.domain import LabelSet
from rag.evaluation.challenge import (
    ERROR_KINDS,
    LLM_VALIDATION,
    Case,
    evaluate,
    load_handwritten,
    load_llm,
    score,
)
from rag.evaluation.checks import AllOf, VerifierCheck
from rag.evaluation.llm_challenge import (
    WEAK_PROMPTS,
    cohen_kappa,
    draft_sentences,
    mesh_label_states,
    select_cases,
    weak_messages,
)
from rag.labeler import RuleLabeler

pytestmark = pytest.mark.unit
ROW = {
    "id": "llm-1",
    "case_id": "CXR1",
    "source": "weak",
    "labels": {"no_finding": "present"},
    "text": "The lungs are clear.",
    "truth": "correct",
    "kind": "correct",
}


def _write(tmp_path: Path, rows: list[dict | str]) -> Path:
    p = tmp_path / "set.jsonl"
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def test_loader_reads_truth_kind_and_source(tmp_path: Path) -> None:
    bad = ROW | {"id": "llm-2", "source": "unguarded", "text": "Small left effusion."}
    bad |= {"truth": "bad", "kind": "contradiction"}
    cases = load_llm(_write(tmp_path, [ROW, "", bad]))
    assert [(c.id, c.expect_flagged, c.meta["source"]) for c in cases] == [
        ("llm-1", False, "weak"),
        ("llm-2", True, "unguarded"),
    ]
    assert cases[1].kind == "contradiction" and cases[1].labels == {"no_finding": "present"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"truth": "maybe"}, "truth must be"),
        ({"kind": "contradiction"}, "does not fit truth"),
        ({"truth": "bad", "kind": "correct"}, "does not fit truth"),
        ({"labels": {"edema": "sometimes"}}, "labels"),
        ({"labels": {"no_finding": "present", "edema": "present"}}, "labels"),
    ],
)
def test_loader_names_the_bad_line(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=rf"set.jsonl:2: .*{message}"):
        load_llm(_write(tmp_path, [ROW, ROW | {"id": "x"} | change]))


def test_loader_refuses_missing_fields_duplicates_and_non_json(tmp_path: Path) -> None:
    short = {k: v for k, v in ROW.items() if k != "truth"}
    with pytest.raises(ValueError, match=r"set\.jsonl:1: missing field truth"):
        load_llm(_write(tmp_path, [short]))
    with pytest.raises(ValueError, match=r"set\.jsonl:2: duplicate id llm-1"):
        load_llm(_write(tmp_path, [ROW, ROW]))
    with pytest.raises(ValueError, match=r"set\.jsonl:1: not JSON"):
        load_llm(_write(tmp_path, ["{oops"]))


def _case(i: int, kind: str, bad: bool, source: str = "a") -> Case:
    return Case(f"c{i}", kind, {"no_finding": "present"}, f"text {i}", bad, meta={"source": source})


def test_score_per_kind_per_source_and_misses() -> None:
    cases = [
        _case(0, "contradiction", True, "a"),
        _case(1, "contradiction", True, "b"),
        _case(2, "not_assessed", True, "b"),
        _case(3, "correct", False, "a"),
        _case(4, "correct", False, "a"),
        _case(5, "no_claim", False, "b"),
    ]
    res = score(cases, [True, False, True, True, False, False], [[]] * 6)
    assert res["recall"] == pytest.approx(2 / 3) and res["false_alarm_rate"] == pytest.approx(1 / 3)
    assert res["per_kind"]["contradiction"] == {"n": 2, "flagged": 1, "recall": 0.5}
    assert res["per_kind"]["correct"]["false_alarm_rate"] == 0.5
    assert res["per_kind"]["no_claim"]["false_alarm_rate"] == 0.0
    assert res["per_source"]["a"] == {
        "n_bad": 1,
        "recall": 1.0,
        "n_correct": 2,
        "false_alarm_rate": 0.5,
    }
    assert res["per_source"]["b"]["recall"] == 0.5
    assert [m["id"] for m in res["errors"]] == ["c1", "c3"]
    with pytest.raises(ValueError, match="5 verdicts for 6 cases"):
        score(cases, [True] * 5)


def test_score_without_correct_cases_reports_no_rate() -> None:
    res = score([Case("x", "contradiction", {}, "t", True)], [True])
    assert res["recall"] == 1.0 and res["false_alarm_rate"] is None and "per_source" not in res


class _WordCheck:
    """Refuses a text containing its word."""

    def __init__(self, word: str) -> None:
        self.name, self.word = word, word

    def verdict(self, text, labels, indication, prior) -> bool:
        assert isinstance(labels, LabelSet)
        return self.word not in text


def test_each_check_alone_and_the_combination() -> None:
    cases = [
        Case("1", "contradiction", {}, "alpha", True),
        Case("2", "contradiction", {}, "beta", True),
        Case("3", "correct", {}, "gamma", False),
    ]
    res = evaluate({"s": cases}, [_WordCheck("alpha"), _WordCheck("beta")])["s"]
    assert list(res) == ["alpha", "beta", "all(alpha+beta)"]
    assert res["alpha"]["recall"] == 0.5 and res["beta"]["recall"] == 0.5
    assert res["all(alpha+beta)"]["recall"] == 1.0
    assert res["all(alpha+beta)"]["false_alarm_rate"] == 0.0
    assert "all(" not in "".join(evaluate({"s": cases}, [_WordCheck("alpha")])["s"])


def test_verifier_check_and_its_reasons() -> None:
    check = VerifierCheck(RuleLabeler())
    ok = LabelSet.from_states({"pleural_effusion": "absent"})
    assert check.verdict("No pleural effusion.", ok, None, None)
    assert not check.verdict("There is a pleural effusion.", ok, None, None)
    assert not check.verdict("", ok, None, None)
    both = AllOf([check, _WordCheck("No")])
    assert not both.verdict("No pleural effusion.", ok, None, None)
    assert both.explain("No pleural effusion.", ok, None, None) == ["No: unsupported"]
    why = AllOf([check]).explain("There is a pleural effusion.", ok, None, None)
    assert why and why[0].startswith("verifier: state_mismatch:pleural_effusion")


def _rep(rid: str, *mesh: str, text: str = "x") -> IUReport:
    return IUReport(rid, "", "", text, "", mesh)


def test_mesh_label_states() -> None:
    assert mesh_label_states(_rep("CXR1", "normal")) == {"no_finding": "present"}
    assert mesh_label_states(_rep("CXR1", "No Indexing")) is None
    assert mesh_label_states(_rep("CXR1")) is None
    got = mesh_label_states(_rep("CXR1", "Pleural Effusion/left", "Calcified Granuloma"))
    assert got is not None and got["pleural_effusion"] == "present"
    assert got["cardiomegaly"] == "absent" and "no_finding" not in got and len(got) == 13
    got = mesh_label_states(_rep("CXR1", "Cardiac Shadow/borderline", "Mediastinum/prominent"))
    assert got and got["cardiomegaly"] == "uncertain"
    assert got["enlarged_cardiomediastinum"] == "present"
    got = mesh_label_states(
        _rep("CXR1", "Cardiac Shadow/enlarged/mild", "Cardiac Shadow/borderline")
    )
    assert got and got["cardiomegaly"] == "present"


def test_select_cases_is_seeded_and_mixes_normal_and_abnormal() -> None:
    reps = [_rep(f"CXR{i}", "normal") for i in range(10)]
    reps += [_rep(f"CXR{i}", "Cardiomegaly") for i in range(10, 20)]
    reps += [_rep("CXR30", "Calcified Granuloma"), _rep("CXR31", "normal", text="")]
    chosen = select_cases(reps, 6, seed=1)
    assert chosen == select_cases(reps, 6, seed=1)
    ids = [r.id for r, _ in chosen]
    assert ids == sorted(ids, key=lambda x: int(x[3:])) and "CXR30" not in ids
    assert sum(s == {"no_finding": "present"} for _, s in chosen) == 2


def test_weak_prompt_and_sentence_split() -> None:
    msgs = weak_messages(LabelSet.from_states({"edema": "uncertain", "cardiomegaly": "present"}))
    assert "- pulmonary edema: possible" in msgs[1]["content"]
    assert "- cardiomegaly: present" in msgs[1]["content"]
    prose = weak_messages(LabelSet.from_states({"edema": "absent"}), WEAK_PROMPTS["weak_prose"])
    assert (
        prose[0]["content"] != msgs[0]["content"]
        and "- pulmonary edema: absent" in prose[1]["content"]
    )
    text = "**Findings:** Heart is enlarged.\n- IMPRESSION: Cardiomegaly. No   effusion."
    assert draft_sentences(text) == ["Heart is enlarged.", "Cardiomegaly.", "No effusion."]


def test_cohen_kappa() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0
    # po = 0.5, pe = 0.5: agreement no better than chance
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "a", "b", "b"]) == 0.0
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "a", "b", "a"]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        cohen_kappa(["a"], [])


def test_committed_llm_set_loads() -> None:
    cases = load_llm(LLM_VALIDATION)
    assert len(cases) >= 300
    assert {c.meta["source"] for c in cases} == {"unguarded", *WEAK_PROMPTS}
    bad = {c.kind for c in cases if c.expect_flagged}
    assert len(bad & ERROR_KINDS) >= 4 and any(not c.expect_flagged for c in cases)
    assert len(load_handwritten()) >= 100


def test_cli_reports_each_set_and_refuses_unknown_names() -> None:
    r = CliRunner().invoke(app, ["guard", "challenge", "--sets", "handwritten,llm", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert set(out) == {"handwritten", "llm_validation"}
    assert out["handwritten"]["verifier"]["n_correct"] >= 50
    assert "per_source" in out["llm_validation"]["verifier"]
    r = CliRunner().invoke(app, ["guard", "challenge", "--sets", "handwritten,nope"])
    assert r.exit_code != 0 and "--sets" in r.output
    r = CliRunner().invoke(app, ["guard", "challenge", "--sets", "handwritten", "--check", "x"])
    assert r.exit_code != 0 and "--check" in r.output
