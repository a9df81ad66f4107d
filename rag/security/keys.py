"""API keys: stored as sha256 hashes with scopes; the file is re-read when it changes,
so keys are added, rotated or revoked without a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCOPES = ("draft", "verify", "admin", "reviewer")


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """One key's public record (never the key itself)."""

    id: str
    hash: str
    scopes: tuple[str, ...]
    created: str


class KeyStore:
    """Keys in a JSON file, reloaded on change (checked by mtime on each lookup)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._keys: dict[str, ApiKey] = {}

    def _load(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._keys, self._mtime = {}, None
            return
        if mtime == self._mtime:
            return
        rows = json.loads(self.path.read_text() or "[]")
        self._keys = {
            r["hash"]: ApiKey(r["id"], r["hash"], tuple(r["scopes"]), r["created"]) for r in rows
        }
        self._mtime = mtime

    def lookup(self, key: str) -> ApiKey | None:
        """The record of a presented key, or None."""
        h = hash_key(key)
        with self._lock:
            self._load()
            for stored, rec in self._keys.items():
                if hmac.compare_digest(stored, h):
                    return rec
        return None

    def records(self) -> list[ApiKey]:
        """All key records."""
        with self._lock:
            self._load()
            return sorted(self._keys.values(), key=lambda r: r.id)

    def _write(self, records: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps([r.__dict__ | {"scopes": list(r.scopes)} for r in records], indent=2)
        )
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def create(self, key_id: str, scopes: list[str]) -> str:
        """Add a key and return it (shown once; only its hash is stored)."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}")
        records = self.records()
        if any(r.id == key_id for r in records):
            raise ValueError(f"a key with id {key_id!r} exists; revoke it first")
        key = "rr_" + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat()
        self._write([*records, ApiKey(key_id, hash_key(key), tuple(scopes), now)])
        return key

    def revoke(self, key_id: str) -> bool:
        """Remove a key; False if there was none with that id."""
        records = self.records()
        kept = [r for r in records if r.id != key_id]
        if len(kept) == len(records):
            return False
        self._write(kept)
        return True
