"""`radrag db upgrade` and `radrag db import-files`: the files of an older home move into the DB."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app as cli
from rag.config import get_settings
from rag.security.audit import AuditLog
from rag.security.keys import KeyStore
from rag.store.audit import verify_db_chain
from rag.store.database import Database
from rag.store.keys import DbKeyStore

pytestmark = pytest.mark.unit


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RADRAG_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_import_files_keeps_keys_and_chain(home: Path) -> None:
    key = KeyStore(home / "api_keys.json").create("old", ["draft", "verify"])
    log = AuditLog(home / "audit.jsonl")
    for i in range(3):
        log.append({"action": "draft", "i": i})
    run = CliRunner()
    assert run.invoke(cli, ["db", "upgrade"]).exit_code == 0
    out = run.invoke(cli, ["db", "import-files"])
    assert out.exit_code == 0 and "keys imported: 1" in out.output
    assert "audit entries imported: 3" in out.output
    db = Database.open(get_settings().db_url)
    assert DbKeyStore(db).lookup(key).id == "old"  # type: ignore[union-attr]
    assert verify_db_chain(db) == (True, 3, "3 entries, chain intact")
    # The chain goes on from the imported head; a second import is refused.
    assert run.invoke(cli, ["audit", "verify"]).exit_code == 0
    again = run.invoke(cli, ["db", "import-files"])
    assert again.exit_code == 1 and "already holds" in again.output


def test_import_refuses_a_broken_file(home: Path) -> None:
    log = AuditLog(home / "audit.jsonl")
    log.append({"action": "draft"})
    log.append({"action": "verify"})
    lines = (home / "audit.jsonl").read_text().splitlines()
    (home / "audit.jsonl").write_text(lines[1] + "\n")
    out = CliRunner().invoke(cli, ["db", "import-files"])
    assert out.exit_code == 1 and "not imported" in out.output
