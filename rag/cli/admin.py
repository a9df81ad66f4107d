"""`radrag keys ...` and `radrag audit verify`: API keys and the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings

keys_app = typer.Typer(help="API keys (stored hashed, with scopes).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)


def _store():
    s = get_settings()
    if not s.persist:
        from rag.security.keys import KeyStore

        return KeyStore(s.keys_file)
    from rag.store.database import Database
    from rag.store.keys import DbKeyStore

    return DbKeyStore(Database.open(s.db_url))


@keys_app.command("create")
def create_key(
    key_id: Annotated[str, typer.Option("--id", help="a name for the key")],
    scopes: Annotated[
        str, typer.Option(help="comma-separated: draft,verify,admin,reviewer")
    ] = "draft,verify",
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    try:
        key = _store().create(key_id, [s.strip() for s in scopes.split(",") if s.strip()])
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(key)


@keys_app.command("list")
def list_keys() -> None:
    """List key ids and scopes (never the keys)."""
    for r in _store().records():
        typer.echo(f"{r.id}\t{','.join(r.scopes)}\t{r.created}")


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke a key; running servers stop accepting it at once."""
    if not _store().revoke(key_id):
        raise fail(f"no key with id {key_id!r}", code=1)
    typer.echo(f"revoked {key_id}")


@keys_app.command("ensure-dev")
def ensure_dev_key() -> None:
    """Create a local development key (all scopes) once and say how to use it."""
    s = get_settings()
    path = s.home / "dev_api_key"
    store = _store()
    if not path.exists() or store.lookup(path.read_text().strip()) is None:
        store.revoke("local-dev")
        key = store.create("local-dev", ["draft", "verify", "admin", "reviewer"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        path.chmod(0o600)
    typer.echo(
        f"local development API key in {path} (scopes draft,verify,admin,reviewer); use it as\n"
        f'  curl -H "Authorization: Bearer $(cat {path})" ...'
    )


@audit_app.command("verify")
def audit_verify(
    file: Annotated[Path | None, typer.Option(help="a JSONL audit file (default: the DB)")] = None,
) -> None:
    """Check the audit trail's hash chain (exit 1 if it was altered)."""
    from rag.security.audit import verify_chain

    s = get_settings()
    if file is None and s.persist:
        from rag.store.audit import verify_db_chain
        from rag.store.database import Database

        ok, _, message = verify_db_chain(Database.open(s.db_url))
        if not ok:
            raise fail(f"audit chain in the database: {message}", code=1)
        typer.echo(message)
        return
    path = file or s.audit_file
    if not path.exists():
        raise fail(f"no audit file at {path}", code=1)
    ok, _, message = verify_chain(path)
    if not ok:
        raise fail(f"{path}: {message}", code=1)
    typer.echo(message)
