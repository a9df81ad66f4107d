"""`radrag kb refresh|list|status|rollback` and crash safety of a killed refresh."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import get_settings
from rag.kb.store import current_version, list_versions, load_version

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def _sources(tmp_path: Path, n: int) -> Path:
    """A sources file with one JSONL document source of n rows."""
    docs = tmp_path / "docs.jsonl"
    rows = [
        {"id": i, "title": f"Note {i}", "body": f"Cardiomegaly note number {i}."} for i in range(n)
    ]
    docs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    toml = tmp_path / "sources.toml"
    toml.write_text(
        f'[[source]]\nname = "notes"\nkind = "jsonl"\nlocation = "{docs}"\nlicence = "CC0"\n'
        'fields = { text = "body", key = "id", title = "title" }\n'
    )
    return toml


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RADRAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADRAG_KB_RETENTION", "2")
    get_settings.cache_clear()
    import rag.cli.kb
    from tests.fakes import HashEmbedder

    monkeypatch.setattr(rag.cli.kb, "make_embedder", lambda s: HashEmbedder())
    yield tmp_path / "home"
    get_settings.cache_clear()


def test_refresh_list_status_rollback(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    toml = _sources(tmp_path, 20)
    first = runner.invoke(app, ["kb", "refresh", "--sources", str(toml), "--json"])
    assert first.exit_code == 0, first.output
    s1 = json.loads(first.stdout)
    assert {"version", "added", "changed", "removed", "reused", "seconds"} <= s1.keys()
    assert s1["added"] == 20 and set(s1["seconds"]) >= {"load", "embed", "index", "publish"}
    toml = _sources(tmp_path, 21)
    s2 = json.loads(runner.invoke(app, ["kb", "refresh", "--sources", str(toml), "--json"]).stdout)
    assert (s2["added"], s2["reused"], s2["embedded"]) == (1, 20, 1)
    status = json.loads(runner.invoke(app, ["kb", "status", "--json"]).stdout)
    assert status["version"] == s2["version"] and status["parent"] == s1["version"]
    listed = runner.invoke(app, ["kb", "list"]).stdout.splitlines()
    assert [ln.startswith("*") for ln in listed] == [False, True]
    assert runner.invoke(app, ["kb", "rollback", s1["version"]]).exit_code == 0
    assert current_version(home / "kb") == s1["version"]
    bad = runner.invoke(app, ["kb", "rollback", "no-such-version"])
    assert bad.exit_code == 1 and "manifest missing" in bad.stderr
    missing = runner.invoke(app, ["kb", "refresh", "--sources", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "nope.toml" in missing.stderr


@pytest.mark.slow
@pytest.mark.parametrize("step", ["embed", "publish"])
def test_killed_refresh_leaves_the_published_version_serving(
    home: Path, tmp_path: Path, step: str
) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(app, ["kb", "refresh", "--sources", str(_sources(tmp_path, 5))]).exit_code
        == 0
    )
    root = home / "kb"
    before = current_version(root)
    files_before = {p: p.read_bytes() for p in (root / "versions").rglob("*") if p.is_file()}
    marker = tmp_path / "marker"
    env = {**os.environ, "RADRAG_TEST_STALL": step, "RADRAG_TEST_MARKER": str(marker)}
    args = ["refresh", "--sources", str(_sources(tmp_path, 9)), "--json"]
    proc = subprocess.Popen([sys.executable, "-m", "tests.slow_refresh", *args], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the refresh never reached the step"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert current_version(root) == before
    assert load_version(root, embedder_id="hash-embedder@64").version == before
    for path, data in files_before.items():  # the published version is untouched
        assert path.read_bytes() == data
    # Whatever the dead refresh left is either a complete unpublished version or staging
    # that the next refresh clears; the next refresh then publishes normally.
    for m in list_versions(root):
        load_version(root, m.version)
    ok = runner.invoke(app, ["kb", "refresh", "--sources", str(_sources(tmp_path, 9)), "--json"])
    assert ok.exit_code == 0 and not list(root.glob(".staging-*"))
