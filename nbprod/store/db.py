"""The store's SQLite index: WAL, a long busy timeout, short ``BEGIN IMMEDIATE`` writes.

Many processes (a sweep, a pipeline, several shells) write to one store at once. SQLite's
defaults lose writes under that load ("database is locked"), so every connection uses WAL
(readers never block the writer), a 30 s busy timeout, and ``BEGIN IMMEDIATE`` for writes (the
write lock is taken up front, so two readers never deadlock trying to upgrade). On top of that a
bounded retry turns the rare busy error SQLite returns without waiting (WAL recovery, a
concurrent switch to WAL) into a wait, never into an error for the user.

The schema version lives in ``PRAGMA user_version``; migrations run inside one ``BEGIN
IMMEDIATE`` transaction that re-reads the version, so twenty processes opening a fresh store at
once create the schema exactly once.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreError

__all__ = ["Database", "SCHEMA_VERSION"]

#: The newest schema this code knows; ``MIGRATIONS[n]`` upgrades version n to n + 1.
SCHEMA_VERSION = 1

BUSY_TIMEOUT_MS = 30_000
#: Total time spent retrying a busy store before giving up with a StoreError.
RETRY_BUDGET_S = 120.0

_SCHEMA_V1 = """
CREATE TABLE runs (
    run_id        TEXT PRIMARY KEY,
    notebook      TEXT NOT NULL,
    notebook_hash TEXT,
    kind          TEXT NOT NULL DEFAULT 'run',
    parent        TEXT,
    status        TEXT NOT NULL,
    started       TEXT NOT NULL,
    ended         TEXT,
    duration_s    REAL,
    parameters    TEXT NOT NULL DEFAULT '{}',
    error         TEXT,
    pid           INTEGER,
    pid_start     INTEGER,
    hostname      TEXT,
    heartbeat     REAL
);
CREATE INDEX runs_by_notebook ON runs (notebook, started);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_parent ON runs (parent);
CREATE TABLE objects (
    hash  TEXT PRIMARY KEY,
    size  INTEGER NOT NULL,
    added REAL NOT NULL
);
CREATE TABLE run_files (
    run_id TEXT NOT NULL,
    path   TEXT NOT NULL,
    role   TEXT NOT NULL,
    hash   TEXT,
    bytes  INTEGER,
    stored INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, path, role)
);
CREATE INDEX run_files_by_hash ON run_files (hash);
CREATE TABLE stat_cache (
    dev         INTEGER NOT NULL,
    inode       INTEGER NOT NULL,
    path        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    recorded_ns INTEGER NOT NULL,
    PRIMARY KEY (dev, inode)
);
"""

MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1}


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Database:
    """One SQLite connection to ``store.sqlite``, shared by the threads of one process.

    The connection is reopened after ``fork`` (a SQLite connection must not cross a fork).
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._connect()
        self._migrate()

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the run store index {self.path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._retry(lambda: self._enable_wal(conn))
        conn.execute("PRAGMA synchronous = NORMAL")
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"the run store index {self.path} cannot use WAL mode (got {mode!r});"
                " put the store on a local file system ([tool.nbprod.store] path)"
            )

    def close(self) -> None:
        """Close the connection (it is reopened on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    # -- retries and transactions -----------------------------------------------------------

    def _retry(self, action: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + RETRY_BUDGET_S
        delay = 0.005
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise self._error(exc) from None
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"the run store {self.path.parent} stayed busy for"
                        f" {RETRY_BUDGET_S:.0f} s; another process holds it, try again"
                    ) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "malformed" in text or "not a database" in text:
            return StoreError(
                f"the run store index {self.path} is damaged ({text}); move it aside"
                f" (mv {self.path.name} {self.path.name}.bad) and run"
                " 'nbprod store verify --repair' to rebuild it from the receipts"
            )
        return StoreError(
            f"the run store index {self.path} failed: {text};"
            " run 'nbprod store verify' to check the store"
        )

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``); rolled back on error."""
        with self._lock:
            conn = self._connect()
            self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield conn
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise
            try:
                self._retry(lambda: conn.execute("COMMIT"))
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise

    def query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        """Run a read query (retried while the store is busy) and return all rows."""
        with self._lock:
            conn = self._connect()
            return self._retry(lambda: conn.execute(sql, params).fetchall())

    def execute_write(self, sql: str, params: tuple | list = ()) -> int:
        """Run one write statement in its own transaction; returns the changed row count."""
        with self.write() as conn:
            try:
                return conn.execute(sql, params).rowcount
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None

    # -- schema -----------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version recorded in the database header."""
        return int(self.query("PRAGMA user_version")[0][0])

    def _migrate(self) -> None:
        if self.schema_version() == SCHEMA_VERSION:
            return
        with self.write() as conn:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the run store {self.path.parent} has schema {version}, newer than this"
                    f" nbprod understands ({SCHEMA_VERSION}); upgrade nbprod"
                )
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check``: ``["ok"]`` for a sound database, else the problems."""
        return [str(row[0]) for row in self.query("PRAGMA integrity_check")]
