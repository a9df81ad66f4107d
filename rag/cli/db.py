"""`radrag db ...`: migrate the database and import the older key and audit files."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings

app = typer.Typer(help="The database (SQLite under RADRAG_HOME or RADRAG_DATABASE_URL).")


def _db():
    from rag.store.database import Database

    return Database.open(get_settings().db_url)


@app.command("upgrade")
def upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the Alembic migrations up to REVISION (default: the newest)."""
    from rag.store.database import Database

    db = Database(get_settings().db_url)
    db.upgrade(revision)
    typer.echo(f"database at {revision}")


@app.command("import-files")
def import_files() -> None:
    """Copy api_keys.json and audit.jsonl from RADRAG_HOME into the database, once."""
    from rag.store.audit import import_jsonl
    from rag.store.keys import DbKeyStore, import_keys_file

    s, db = get_settings(), _db()
    if s.keys_file.exists():
        typer.echo(f"keys imported: {import_keys_file(DbKeyStore(db), s.keys_file)}")
    if s.audit_file.exists():
        try:
            typer.echo(f"audit entries imported: {import_jsonl(db, s.audit_file)}")
        except ValueError as exc:
            raise fail(str(exc), code=1) from None
