"""The hash-chained audit trail in the database; same entries and hashes as the JSONL file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from rag.security.audit import GENESIS, _entry_hash
from rag.store.database import Database
from rag.store.tables import AuditRow


def append_entry(session: Session, record: dict[str, object]) -> dict[str, object]:
    """Chain one entry inside a transaction that holds the chain lock (Database.write(chain))."""
    head = select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
    last = session.execute(head).first()
    seq, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    entry: dict[str, object] = {
        "seq": seq + 1,
        "time": datetime.now(UTC).isoformat(),
        **record,
        "prev_hash": prev,
    }
    entry["hash"] = _entry_hash(entry)
    # A Core insert: the ORM's unit of work costs more than the write itself here.
    session.execute(
        insert(AuditRow).values(
            seq=seq + 1,
            hash=str(entry["hash"]),
            prev_hash=prev,
            body=json.dumps(entry, sort_keys=True),
        )
    )
    return entry


class DbAuditLog:
    """AuditLog's interface over the database; safe with many writer processes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, record: dict[str, object]) -> dict[str, object]:
        """Add one entry; returns it with its seq, time and hashes."""
        with self.db.write(chain=True) as session:
            return append_entry(session, record)

    def count(self) -> int:
        """Entries in the chain."""
        with self.db.read() as session:
            return int(session.scalar(select(func.count()).select_from(AuditRow)) or 0)


def verify_db_chain(db: Database) -> tuple[bool, int, str]:
    """(ok, entries checked, message) for the database's audit chain."""
    prev, n = GENESIS, 0
    with db.read() as session:
        rows = session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars()
        for row in rows:
            try:
                e = json.loads(row.body)
            except json.JSONDecodeError:
                return False, n, f"seq {row.seq}: not JSON"
            if e.get("prev_hash") != prev or row.prev_hash != prev:
                return False, n, f"seq {row.seq}: chain broken (prev_hash mismatch)"
            if _entry_hash(e) != e.get("hash") or row.hash != e.get("hash"):
                return False, n, f"seq {row.seq}: entry altered (hash mismatch)"
            if e.get("seq") != n + 1 or row.seq != n + 1:
                return False, n, f"seq {row.seq}: sequence gap"
            prev, n = str(e["hash"]), n + 1
    return True, n, f"{n} entries, chain intact"


def import_jsonl(db: Database, path: Path) -> int:
    """Copy a verified audit.jsonl into an empty database chain, hashes unchanged."""
    from rag.security.audit import verify_chain

    ok, _, message = verify_chain(path)
    if not ok:
        raise ValueError(f"{path}: {message}; not imported")
    with db.write(chain=True) as session:
        if session.scalar(select(func.count()).select_from(AuditRow)):
            raise ValueError("the database already holds an audit chain; not imported")
        n = 0
        for line in path.read_text().splitlines():
            if line.strip():
                e = json.loads(line)
                body = json.dumps(e, sort_keys=True)
                session.add(
                    AuditRow(seq=e["seq"], hash=e["hash"], prev_hash=e["prev_hash"], body=body)
                )
                n += 1
    return n
