"""The engine, sessions and the write lock; SQLite under RADRAG_HOME or PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The key of PostgreSQL's advisory lock on the audit chain's head.
CHAIN_LOCK_KEY = 0x72616472


def _sqlite_pragmas(engine: Engine) -> None:
    # pysqlite's own BEGIN is deferred and lets two writers read the same chain head;
    # taking the write lock at BEGIN (IMMEDIATE) makes appends strictly one after another.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL keeps the database consistent after a crash and only skips the
        # fsync per commit (the JSONL trail never synced either); a power cut may lose the
        # last commits, never corrupt the chain.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine per process; every write goes through `write()` (one transaction)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, connect_args={"check_same_thread": False})
            _sqlite_pragmas(self.engine)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Database:
        """Connect and bring the schema to the newest migration."""
        db = cls(url)
        if migrate:
            db.upgrade()
        return db

    def upgrade(self, revision: str = "head") -> None:
        """Run Alembic migrations up to `revision` (idempotent)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    @contextmanager
    def write(self, chain: bool = False) -> Iterator[Session]:
        """A transaction; with `chain`, the audit chain's head is locked for its duration."""
        with self._sessions.begin() as session:
            if chain and not self.is_sqlite:
                # SQLite already holds its database write lock (BEGIN IMMEDIATE).
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A short session for reads."""
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
