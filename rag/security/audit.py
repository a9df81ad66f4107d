"""An append-only, hash-chained audit trail of drafts and verifications.

Entries hold hashes of the inputs (never the indication, prior report or image tags),
the label set, versions, verdicts and the decision. Each entry's hash covers the
previous entry's hash, so editing, deleting or reordering any line breaks the chain.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

GENESIS = "0" * 64


def digest(obj: object) -> str:
    """sha256 of an object's canonical JSON."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _entry_hash(entry: dict[str, object]) -> str:
    return digest({k: v for k, v in entry.items() if k != "hash"})


class AuditLog:
    """Appends chained entries to a JSONL file (one writer process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._last: tuple[int, str] | None = None

    def _tail(self) -> tuple[int, str]:
        if self._last is None:
            seq, prev = 0, GENESIS
            if self.path.exists():
                with self.path.open() as fh:
                    for line in fh:
                        if line.strip():
                            e = json.loads(line)
                            seq, prev = int(e["seq"]), str(e["hash"])
            self._last = (seq, prev)
        return self._last

    def append(self, record: dict[str, object]) -> dict[str, object]:
        """Add one entry; returns it with its seq, time and hashes."""
        with self._lock:
            seq, prev = self._tail()
            entry: dict[str, object] = {
                "seq": seq + 1,
                "time": datetime.now(UTC).isoformat(),
                **record,
                "prev_hash": prev,
            }
            entry["hash"] = _entry_hash(entry)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as fh:
                fh.write(json.dumps(entry, sort_keys=True) + "\n")
            self._last = (seq + 1, str(entry["hash"]))
            return entry


def verify_chain(path: Path) -> tuple[bool, int, str]:
    """(ok, entries checked, message) for an audit file."""
    prev, n = GENESIS, 0
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                return False, n, f"line {lineno}: not JSON"
            if e.get("prev_hash") != prev:
                return False, n, f"line {lineno}: chain broken (prev_hash mismatch)"
            if _entry_hash(e) != e.get("hash"):
                return False, n, f"line {lineno}: entry altered (hash mismatch)"
            if e.get("seq") != n + 1:
                return False, n, f"line {lineno}: sequence gap"
            prev, n = str(e["hash"]), n + 1
    return True, n, f"{n} entries, chain intact"
