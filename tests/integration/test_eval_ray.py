"""`--executor ray`: the same records and byte-identical results on a local Ray cluster."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from rag.evaluation.drafters import GuardedDrafter
from rag.evaluation.executors import ExecutorError, RayExecutor
from rag.evaluation.runner import run
from rag.labeler import RuleLabeler
from rag.services import Services
from tests.ray_cluster import broken_scorer, tiny_scorer
from tests.unit.test_eval_runner import CASES

pytestmark = pytest.mark.integration

CFG = {"generator": "extractive", "kb_version": "v1"}


def test_ray_run_is_byte_identical_to_local(
    ray_cluster: str, tiny_services: Services, tmp_path: Path
) -> None:
    drafter = GuardedDrafter(tiny_services.pipeline, "extractive")
    local = run(CASES, drafter, RuleLabeler(), tmp_path / "local", CFG, progress=False)
    # Three workers on two CPUs: each reserves a share of a CPU, so all three get scheduled.
    # Started before the run, as the command does (the workers load while it reads cases).
    version = tiny_services.kb.get().version
    factory = partial(tiny_scorer, tiny_services.settings.home, version)
    with RayExecutor(factory, workers=3) as ray_exec:
        far = run(CASES, drafter, RuleLabeler(), tmp_path / "ray", CFG, False, executor=ray_exec)
    assert far == local
    a = (tmp_path / "local" / "results.json").read_bytes()
    assert (tmp_path / "ray" / "results.json").read_bytes() == a
    by_id = {
        d: sorted((tmp_path / d / "cases.jsonl").read_text().splitlines()) for d in ("local", "ray")
    }
    assert by_id["ray"] == by_id["local"]


def test_ray_run_resumes_a_local_one(
    ray_cluster: str, tiny_services: Services, tmp_path: Path
) -> None:
    # The executor is not part of the configuration: a run started locally finishes on Ray.
    drafter = GuardedDrafter(tiny_services.pipeline, "extractive")
    first = run(CASES[:1], drafter, RuleLabeler(), tmp_path, CFG, progress=False)
    ray_exec = RayExecutor(partial(tiny_scorer, tiny_services.settings.home), workers=1)
    rest = run(CASES, drafter, RuleLabeler(), tmp_path, CFG, False, executor=ray_exec)
    lines = [json.loads(x) for x in (tmp_path / "cases.jsonl").read_text().splitlines()]
    assert sorted(x["case_id"] for x in lines) == ["c1", "c2", "c3"]  # c1 not redone
    assert first["config_hash"] == rest["config_hash"] and rest["n_cases"] == 3


def test_a_failing_worker_is_one_error(ray_cluster: str, tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match="no knowledge base under /nowhere"):
        list(RayExecutor(broken_scorer, workers=1).map(CASES))


def test_a_worker_on_another_kb_version_fails_clearly(
    ray_cluster: str, tiny_services: Services
) -> None:
    # The command stamped one version into the run; a worker that loads another refuses.
    factory = partial(tiny_scorer, tiny_services.settings.home, "v-stamped-by-the-command")
    with pytest.raises(ExecutorError, match="but the job expects v-stamped-by-the-command"):
        list(RayExecutor(factory, workers=1).map(CASES))


@pytest.mark.slow
def test_cli_ray_executor_matches_local(ray_cluster: str, real_settings, real_kb, tmp_path) -> None:
    # The real command over the real KB and embedder: the Ray workers load their own copy.
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "RADRAG_HOME": str(real_settings.home),
        "RADRAG_ASSETS": str(real_settings.assets_dir),
        "RAY_ADDRESS": ray_cluster,
    }
    base = [sys.executable, "-m", "rag.cli", "eval", "run", "--limit", "6"]
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--workers", "2"])):
        cmd = [*base, "--out", str(tmp_path / name), *extra]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.splitlines()[-1])["n_cases"] == 6
    a, b = ((tmp_path / n / "results.json").read_bytes() for n in ("local", "ray"))
    assert a == b
    assert (tmp_path / "ray" / "report.html").is_file()
