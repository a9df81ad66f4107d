"""Evaluation runs: outputs, resumption, config conflicts and the release gate."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rag.domain import LabelSet
from rag.evaluation.drafters import EvalCase, GuardedDrafter, Outcome
from rag.evaluation.runner import RunConflict, run
from rag.labeler import RuleLabeler
from rag.services import Services

pytestmark = pytest.mark.unit

CASES = [
    EvalCase(
        "c1",
        LabelSet.from_states({"cardiomegaly": "present", "pleural_effusion": "absent"}),
        "The heart is enlarged. No pleural effusion.",
    ),
    EvalCase("c2", LabelSet.from_states({"fracture": "present"}), "Left rib fracture."),
    EvalCase("c3", LabelSet.from_states({"pneumonia": "uncertain"}), "Possible pneumonia."),
]


class CountingDrafter:
    """Wraps a drafter and counts calls (to prove resumption skips done cases)."""

    def __init__(self, inner: GuardedDrafter) -> None:
        self.inner, self.name, self.calls = inner, inner.name, 0

    def draft(self, case: EvalCase) -> Outcome:
        self.calls += 1
        return self.inner.draft(case)


def test_run_writes_outputs_and_resumes(tiny_services: Services, tmp_path: Path) -> None:
    drafter = CountingDrafter(GuardedDrafter(tiny_services.pipeline, "extractive"))
    cfg = {"generator": "extractive", "kb_version": "v1"}
    res = run(CASES, drafter, RuleLabeler(), tmp_path, cfg, progress=False)
    assert (res["n_cases"], res["n_drafted"], res["n_abstained"]) == (3, 2, 1)
    assert res["coverage"] == pytest.approx(2 / 3)
    assert res["abstention_reasons"] == {
        "finding_not_expressible": 1,
        "weak_retrieval_support": 1,
        "empty_report": 1,
    }
    assert res["hallucinated_finding_rate"] == 0.0 and res["contradiction_rate"] == 0.0
    lines = [json.loads(x) for x in (tmp_path / "cases.jsonl").read_text().splitlines()]
    assert [x["case_id"] for x in lines] == ["c1", "c2", "c3"]
    assert all(x["config_hash"] == res["config_hash"] for x in lines)
    assert "The heart is enlarged." in lines[0]["draft"]  # after the pleura (report order)
    assert drafter.calls == 3
    # A rerun finds everything done; a truncated last line is redone.
    text = (tmp_path / "cases.jsonl").read_text().splitlines()
    (tmp_path / "cases.jsonl").write_text("\n".join(text[:2]) + "\n" + text[2][:20])
    again = run(CASES, drafter, RuleLabeler(), tmp_path, cfg, progress=False)
    assert drafter.calls == 4 and again["n_cases"] == 3
    with pytest.raises(RunConflict):
        run(CASES, drafter, RuleLabeler(), tmp_path, {**cfg, "kb_version": "v2"}, progress=False)


def test_a_limited_run_extends_in_place(tiny_services: Services, tmp_path: Path) -> None:
    drafter = CountingDrafter(GuardedDrafter(tiny_services.pipeline, "extractive"))
    cfg = {"generator": "extractive", "kb_version": "v1"}
    first = run(CASES[:2], drafter, RuleLabeler(), tmp_path, {**cfg, "limit": 2}, progress=False)
    more = run(CASES, drafter, RuleLabeler(), tmp_path, {**cfg, "limit": 3}, progress=False)
    # Same configuration apart from the count: the two done cases are not drafted again.
    assert drafter.calls == 3
    assert first["config_hash"] == more["config_hash"]
    assert (first["n_cases"], more["n_cases"], more["limit"]) == (2, 3, 3)
    # Asking for fewer again scores only those, from what is stored.
    back = run(CASES[:1], drafter, RuleLabeler(), tmp_path, {**cfg, "limit": 1}, progress=False)
    assert drafter.calls == 3 and back["n_cases"] == 1


def _results(folder: Path, **metrics: float) -> Path:
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(metrics))
    return folder


def test_compare_gate(tmp_path: Path) -> None:
    a = _results(tmp_path / "a", contradiction_rate=0.01, chexpert_f1_micro=0.90)
    same = _results(tmp_path / "b", contradiction_rate=0.015, chexpert_f1_micro=0.895)
    worse = _results(tmp_path / "c", contradiction_rate=0.05, chexpert_f1_micro=0.90)
    cmd = [sys.executable, "-m", "rag.cli", "eval", "compare"]
    ok = subprocess.run([*cmd, str(a), str(same)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*cmd, str(a), str(worse)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "contradiction_rate" in bad.stderr
    assert "REGRESSION" in bad.stdout


class BarrierDrafter(CountingDrafter):
    """Every call waits until `parties` calls are in flight: passes only if run concurrently."""

    def __init__(self, inner: GuardedDrafter, parties: int) -> None:
        super().__init__(inner)
        self.barrier = threading.Barrier(parties, timeout=10)

    def draft(self, case: EvalCase) -> Outcome:
        self.barrier.wait()
        return super().draft(case)


def test_concurrent_run_matches_sequential(tiny_services: Services, tmp_path: Path) -> None:
    cfg = {"generator": "extractive", "kb_version": "v1"}
    seq = GuardedDrafter(tiny_services.pipeline, "extractive")
    a = run(CASES, seq, RuleLabeler(), tmp_path / "a", cfg, progress=False)
    par = BarrierDrafter(GuardedDrafter(tiny_services.pipeline, "extractive"), len(CASES))
    b = run(CASES, par, RuleLabeler(), tmp_path / "b", cfg, progress=False, concurrency=3)
    assert par.calls == 3
    assert a == b  # same config hash, same metrics: the thread count changes nothing
    ids = {
        json.loads(x)["case_id"] for x in (tmp_path / "b" / "cases.jsonl").read_text().splitlines()
    }
    assert ids == {"c1", "c2", "c3"}


def test_table_prints_one_row_per_run(tmp_path: Path) -> None:
    a = _results(tmp_path / "a", generator="extractive", n_cases=3, contradiction_rate=0.0)
    b = _results(tmp_path / "b", generator="unguarded", n_cases=3, contradiction_rate=0.5)
    cmd = [sys.executable, "-m", "rag.cli", "eval", "table", str(a), str(b)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    head = [c.strip() for c in out[0].strip("|").split("|")]
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.strip("|").split("|")] for r in out[2:]}
    assert head[:2] == ["run", "n_cases"] and set(rows) == {"extractive", "unguarded"}
    col = head.index("contradiction_rate")
    assert rows["unguarded"][col] == "0.500" and rows["extractive"][col] == "0.000"
    assert rows["unguarded"][head.index("bleu4")] == "–"  # missing metric, not 0
    png = tmp_path / "curves.png"
    plotted = subprocess.run([*cmd, "--plot", str(png)], capture_output=True, text=True)
    assert plotted.returncode == 0 and png.read_bytes()[:4] == b"\x89PNG"
    missing = subprocess.run([*cmd[:-2], str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2 and "results.json" in missing.stderr


def test_rescore_replays_drafts_with_the_current_labeler(
    tiny_services: Services, tmp_path: Path
) -> None:
    drafter = CountingDrafter(GuardedDrafter(tiny_services.pipeline, "extractive"))
    cfg = {"generator": "extractive", "labeler": "old-labeler"}
    src = tmp_path / "src"
    first = run(CASES, drafter, RuleLabeler(), src, cfg, progress=False)
    # Plant a draft the stored run never scored this way: rescoring must read it afresh.
    lines = [json.loads(x) for x in (src / "cases.jsonl").read_text().splitlines()]
    lines[0]["draft"] = "Pneumothorax: present. " + lines[0]["draft"]
    (src / "cases.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    cmd = [sys.executable, "-m", "rag.cli", "eval", "rescore", str(src), "--out"]
    done = subprocess.run([*cmd, str(tmp_path / "dst")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    again = json.loads((tmp_path / "dst" / "results.json").read_text())
    assert drafter.calls == 3  # nothing was drafted again
    assert again["rescored_from"] == first["config_hash"] != again["config_hash"]
    assert again["labeler"] == RuleLabeler.name
    assert (again["n_cases"], again["n_drafted"]) == (first["n_cases"], first["n_drafted"])
    assert first["hallucinated_finding_rate"] == 0.0
    assert again["hallucinated_finding_rate"] == pytest.approx(1 / 2)  # 1 of 2 drafted
    # The independent check judges the rescored drafts too (the planted pneumothorax).
    assert again["judge"] == "crosscheck-medspacy-context-v1"
    assert again["judges"]["crosscheck"]["hallucinated_finding_rate"] == pytest.approx(1 / 2)
    same = subprocess.run([*cmd, str(src)], capture_output=True, text=True)
    assert same.returncode == 2 and "--out" in same.stderr


def test_a_second_run_into_one_folder_is_refused(tiny_services: Services, tmp_path: Path) -> None:
    # Another process holds the folder (as a run in progress does): refused at once.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from rag.evaluation.locks import output_lock\n"
            "with output_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        drafter = CountingDrafter(GuardedDrafter(tiny_services.pipeline, "extractive"))
        cfg = {"generator": "extractive", "kb_version": "v1"}
        with pytest.raises(RunConflict, match=f"in use by another run \\(pid {holder.pid}\\)"):
            run(CASES, drafter, RuleLabeler(), tmp_path, cfg, progress=False)
        assert drafter.calls == 0 and not (tmp_path / "cases.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its process: the folder is free again.
    res = run(CASES, drafter, RuleLabeler(), tmp_path, cfg, progress=False)
    assert res["n_cases"] == 3


def test_skipped_reports_count_only_up_to_the_limit() -> None:
    from rag.adapters.iu_xray import IUReport
    from rag.evaluation.runner import iu_cases

    texts = {"a": "", "b": "Heart is enlarged.", "c": "", "d": "Left rib fracture.", "e": ""}
    reports = {k: IUReport(k, "", "", t, "", ()) for k, t in texts.items()}
    cases, skipped = iu_cases(reports, list(texts), RuleLabeler())
    assert ([c.id for c in cases], skipped) == (["b", "d"], 3)
    # The first case only: the one empty report read before it is the only one skipped.
    cases, skipped = iu_cases(reports, list(texts), RuleLabeler(), limit=1)
    assert ([c.id for c in cases], skipped) == (["b"], 1)
