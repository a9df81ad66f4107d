"""API keys in the database: KeyStore's interface, so every API process sees one key set."""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select

from rag.security.keys import SCOPES, ApiKey, hash_key
from rag.store.database import Database
from rag.store.tables import ApiKeyRow


def _record(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.hash, tuple(row.scopes.split(",")), row.created)


class DbKeyStore:
    """Hashed keys with scopes; a revoked key stops working on every process at once."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def lookup(self, key: str) -> ApiKey | None:
        """The record of a presented key, or None."""
        h = hash_key(key)
        with self.db.read() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.hash == h))
            # The index finds the row; the comparison that decides is constant-time.
            if row is not None and hmac.compare_digest(row.hash, h):
                return _record(row)
        return None

    def records(self) -> list[ApiKey]:
        """All key records."""
        with self.db.read() as session:
            return [_record(r) for r in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]

    def add(self, rec: ApiKey) -> None:
        """Store a key record (used by create and by the import of a keys file)."""
        with self.db.write() as session:
            if session.get(ApiKeyRow, rec.id) is not None:
                raise ValueError(f"a key with id {rec.id!r} exists; revoke it first")
            session.add(
                ApiKeyRow(
                    id=rec.id, hash=rec.hash, scopes=",".join(rec.scopes), created=rec.created
                )
            )

    def create(self, key_id: str, scopes: list[str]) -> str:
        """Add a key and return it (shown once; only its hash is stored)."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}")
        key = "rr_" + secrets.token_urlsafe(32)
        self.add(ApiKey(key_id, hash_key(key), tuple(scopes), datetime.now(UTC).isoformat()))
        return key

    def revoke(self, key_id: str) -> bool:
        """Remove a key; False if there was none with that id."""
        with self.db.write() as session:
            return bool(session.execute(delete(ApiKeyRow).where(ApiKeyRow.id == key_id)).rowcount)


def import_keys_file(store: DbKeyStore, path: Path) -> int:
    """Copy the hashed keys of an api_keys.json into the database (ids already there are kept)."""
    have = {r.id for r in store.records()}
    n = 0
    for r in json.loads(path.read_text() or "[]"):
        if r["id"] not in have:
            store.add(ApiKey(r["id"], r["hash"], tuple(r["scopes"]), r["created"]))
            n += 1
    return n
