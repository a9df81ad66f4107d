"""32 concurrent writers in two processes: no draft lost, the audit chain never forks.

Runs on SQLite (BEGIN IMMEDIATE) and on a real PostgreSQL server (advisory lock on the chain
head). Bounded in time (RADRAG_CONCURRENCY_S, 8 s by default; bench/ runs the long version).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from rag.domain import FindingLabel, State
from rag.review.models import DraftContent, StudyMeta
from rag.store.audit import DbAuditLog, verify_db_chain
from rag.store.database import Database
from rag.store.drafts import DraftStore
from rag.store.tables import AuditRow, DraftRow

pytestmark = pytest.mark.integration
CLIENTS, PROCESSES = 32, 2
SECONDS = float(os.environ.get("RADRAG_CONCURRENCY_S", "8"))


def _content() -> DraftContent:
    return DraftContent(labels={"edema": FindingLabel(state=State.absent)})


def write_for(url: str, threads: int, seconds: float) -> tuple[list[str], int, int]:
    """One process: `threads` writers create drafts (and audit-only entries) until time is up."""
    db = Database(url)
    store, audit = DraftStore(db), DbAuditLog(db)
    ids: list[str] = []
    lock = threading.Lock()
    audits, errors = [0], [0]
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            try:
                if i % 4 == 3:
                    audit.append({"action": "verify", "client": n, "i": i})
                    with lock:
                        audits[0] += 1
                else:
                    d, _ = store.create(
                        StudyMeta(accession_number=f"C{n}-{i}"),
                        "labels",
                        f"k{n}",
                        "drafted",
                        _content(),
                        {"action": "draft", "client": n, "i": i},
                    )
                    with lock:
                        ids.append(d.id)
            except Exception:  # counted: the test requires none
                with lock:
                    errors[0] += 1
            i += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client, range(threads)))
    db.dispose()
    return ids, audits[0], errors[0]


def test_concurrent_writers_lose_nothing(database_url: str) -> None:
    Database.open(database_url).dispose()  # migrate once, before the writers start
    ctx = mp.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        runs = pool.starmap(write_for, [(database_url, CLIENTS // PROCESSES, SECONDS)] * PROCESSES)
    ids = [i for r in runs for i in r[0]]
    audits = sum(r[1] for r in runs)
    assert sum(r[2] for r in runs) == 0
    assert len(ids) > CLIENTS  # every client wrote
    db = Database(database_url)
    with db.read() as s:
        stored = set(s.scalars(select(DraftRow.id)).all())
        n_audit = s.scalar(select(func.count()).select_from(AuditRow))
    assert stored == set(ids)  # no draft lost, none invented
    assert n_audit == len(ids) + audits  # one entry per write, none lost
    ok, n, message = verify_db_chain(db)
    assert ok and n == n_audit, message
