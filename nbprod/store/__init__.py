"""The run store: a SQLite index plus content-addressed objects under ``<project>/.nbprod/``.

Layout::

    .nbprod/
      store.sqlite             index of runs, objects, files each run read/wrote, the stat cache
      objects/ab/cdef...       content-addressed blobs (blake3), read-only
      runs/<run_id>/           receipt.json (written last, atomically), output.ipynb

A run is inserted as ``running`` (with pid, host and a heartbeat) before it starts, and its
receipt is written atomically and then indexed when it ends; a run whose process died is marked
``interrupted`` by the next command that looks. The receipt file is the source of truth; the
index can be rebuilt from it (``nbprod store verify --repair``).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import load_project_config
from ..errors import StoreError
from ..fsutil import atomic_write
from .config import StoreConfig
from .crash import crashpoint
from .db import Database
from .hashing import StatCache, is_hash
from .liveness import hostname, process_alive, process_start
from .objects import ObjectStore

if TYPE_CHECKING:
    from .verify import VerifyReport

__all__ = [
    "FINAL_STATUSES",
    "RECEIPT_SCHEMA",
    "RunHandle",
    "STATUSES",
    "Store",
    "StoreConfig",
    "StoreNotFoundError",
    "open_project_store",
]

#: Version of the receipt.json format (DESIGN.md section 5).
RECEIPT_SCHEMA = 1
#: How a run can end; ``running`` is the only other status.
FINAL_STATUSES = ("succeeded", "failed", "kernel_died", "timeout", "incomplete", "interrupted")
STATUSES = ("running", *FINAL_STATUSES)
#: A run from another host whose heartbeat is older than this is considered interrupted.
LEASE_SECONDS = 600.0

_RUN_COLUMNS = (
    "run_id, notebook, notebook_hash, kind, parent, status, started, ended, duration_s,"
    " parameters, error, pid, hostname, heartbeat"
)


class StoreNotFoundError(StoreError):
    """Raised when a command that only reads finds no store (it never creates one)."""


@dataclass(frozen=True)
class RunHandle:
    """A run that has begun: its id and the folder its outputs go to."""

    run_id: str
    run_dir: Path


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def new_run_id() -> str:
    """A UTC timestamp plus a short random suffix, e.g. ``20261122T124415Z-3f9a1c``."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _duration(started: str | None, ended: str) -> float | None:
    try:
        start = _dt.datetime.fromisoformat(started or "")
        end = _dt.datetime.fromisoformat(ended)
    except ValueError:
        return None
    return round((end - start).total_seconds(), 6)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _row_summary(row: sqlite3.Row) -> dict:
    """A run index row as the summary dict ``list_runs`` returns."""
    summary = dict(row)
    summary["parameters"] = json.loads(summary["parameters"] or "{}")
    summary["error"] = json.loads(summary["error"]) if summary["error"] else None
    return summary


class Store:
    """One project's run store. Safe to use from many processes and threads at once."""

    def __init__(self, root: Path, path: Path, config: StoreConfig):
        self.root = root
        self.path = path
        self.config = config
        self.db = Database(path / "store.sqlite")
        self.objects = ObjectStore(path / "objects")
        self.cache = StatCache(self.db)
        self.runs_path = path / "runs"

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        project_root: str | os.PathLike,
        store_dir: str | os.PathLike | None = None,
        config: StoreConfig | None = None,
        *,
        create: bool = True,
    ) -> Store:
        """Open (and by default create) the store of the project at ``project_root``.

        Parameters
        ----------
        project_root:
            The project folder; receipt data paths are relative to it.
        store_dir:
            The store folder; default ``<project_root>/<config.path>`` (``.nbprod``).
        config:
            ``[tool.nbprod.store]`` settings; defaults when None.
        create:
            When False, a missing store is an error instead of being created (a store folder
            whose index was moved aside gets a new, empty index: ``verify --repair`` refills
            it from the receipts).

        Raises
        ------
        StoreError
            When the store folder cannot be created, is missing (``create=False``), or its
            index is damaged or from a newer nbprod.
        """
        root = Path(project_root).resolve()
        config = config or StoreConfig()
        path = Path(store_dir) if store_dir is not None else Path(config.path)
        if not path.is_absolute():
            path = (Path.cwd() if store_dir is not None else root) / path
        path = path.resolve()
        if not create and not ((path / "store.sqlite").is_file() or (path / "runs").is_dir()):
            raise StoreNotFoundError(
                f"no run store at {path}; run a notebook with 'nbprod run' first,"
                " or point --store at an existing store folder"
            )
        try:
            for folder in (path, path / "objects", path / "runs"):
                folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(
                f"{path} exists and is not a folder; cannot use it as a run store"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot create the run store {path}: {exc.strerror}") from None
        ignore = path / ".gitignore"
        if not ignore.exists():
            # Keep runs, objects and the index out of git without touching the user's .gitignore.
            atomic_write(ignore, "# created by nbprod: the run store is not versioned\n*\n")
        return cls(root, path, config)

    def close(self) -> None:
        """Close the index connection."""
        self.db.close()

    # -- runs -------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id`` (a unique prefix is accepted)."""
        return self.runs_path / self.resolve_run_id(run_id)

    def begin_run(
        self,
        notebook_path: str,
        notebook_hash: str,
        parameters: dict,
        kind: str = "run",
        parent: str | None = None,
    ) -> RunHandle:
        """Record a new run as ``running`` and create its folder.

        Parameters
        ----------
        notebook_path:
            The notebook, relative to the project root (POSIX separators).
        notebook_hash:
            Its content hash (``hash_bytes`` of the file).
        parameters:
            The coerced parameter values (JSON data).
        kind:
            ``run``, ``reproduce``, ``sweep``, ``step``...
        parent:
            The run this one reproduces or belongs to.

        Returns
        -------
        RunHandle
        """
        pid = os.getpid()
        now = _now_iso()
        for _ in range(10):
            run_id = new_run_id()
            try:
                with self.db.write() as conn:
                    conn.execute(
                        "INSERT INTO runs (run_id, notebook, notebook_hash, kind, parent, status,"
                        " started, parameters, pid, pid_start, hostname, heartbeat)"
                        " VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                        (run_id, str(notebook_path), notebook_hash, kind, parent, now,
                         _json(parameters), pid, process_start(pid), hostname(), time.time()),
                    )
                break
            except sqlite3.IntegrityError:
                continue  # the same id drawn twice in one second: draw again
        else:
            raise StoreError("could not allocate a unique run id; try again")
        crashpoint("begin.after_insert")
        run_dir = self.runs_path / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        return RunHandle(run_id, run_dir)

    def heartbeat(self, run_id: str) -> None:
        """Renew the lease of a running run (call it periodically from the runner)."""
        self.db.execute_write(
            "UPDATE runs SET heartbeat = ? WHERE run_id = ? AND status = 'running'",
            (time.time(), run_id),
        )

    def finish_run(self, run_id: str, receipt: dict) -> None:
        """Write ``runs/<run_id>/receipt.json`` atomically, then index it.

        Raises
        ------
        StoreError
            When the run is unknown, the status is not a final status, or a data entry marked
            ``stored`` names an object that is not in the store.
        """
        rows = self.db.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.path}; it was never begun")
        row = rows[0]
        receipt = dict(receipt)
        receipt.setdefault("schema", RECEIPT_SCHEMA)
        receipt["run_id"] = run_id
        # What begin_run recorded completes the receipt, so the file stands on its own.
        receipt.setdefault("kind", row["kind"])
        receipt.setdefault("parent", row["parent"])
        receipt.setdefault("notebook", {"path": row["notebook"], "hash": row["notebook_hash"]})
        receipt.setdefault("parameters", json.loads(row["parameters"] or "{}"))
        timing = dict(receipt.get("timing") or {})
        timing.setdefault("start", row["started"])
        timing.setdefault("end", _now_iso())
        if timing.get("duration_s") is None:
            timing["duration_s"] = _duration(timing["start"], timing["end"])
        receipt["timing"] = timing
        status = receipt.get("status")
        if status not in FINAL_STATUSES:
            raise StoreError(
                f"run {run_id}: receipt status {status!r} is not one of {', '.join(FINAL_STATUSES)}"
            )
        for digest in _stored_references(receipt):
            if not is_hash(digest) or not self.objects.exists(digest):
                raise StoreError(
                    f"run {run_id}: the receipt references object {digest!r},"
                    " which is not in the store; store it with put_file first"
                )
        text = json.dumps(receipt, indent=2, ensure_ascii=False, default=str) + "\n"
        run_dir = self.runs_path / run_id
        atomic_write(run_dir / "receipt.json", text)
        crashpoint("finish.after_receipt")
        with self.db.write() as conn:
            self._index_receipt(conn, json.loads(text))
        crashpoint("finish.after_index")

    def reindex(self, receipt: dict) -> None:
        """Make the index agree with a receipt read from disk (``verify --repair``)."""
        with self.db.write() as conn:
            self._index_receipt(conn, receipt)

    def _index_receipt(self, conn: sqlite3.Connection, receipt: dict) -> None:
        # Make the index row of a run and its run_files match the receipt, inside `conn`'s
        # transaction.
        run_id = receipt["run_id"]
        timing = receipt.get("timing") or {}
        notebook = receipt.get("notebook") or {}
        ended = timing.get("end") or _now_iso()
        error = receipt.get("error")
        row = conn.execute("SELECT started FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        started = row[0] if row else timing.get("start") or ended
        duration = timing.get("duration_s")
        values = {
            "status": receipt["status"],
            "ended": ended,
            "duration_s": duration if duration is not None else _duration(started, ended),
            "error": _json(error) if error else None,
            "parameters": _json(receipt["parameters"]) if "parameters" in receipt else None,
            "notebook_hash": notebook.get("hash"),
        }
        if row is not None:
            conn.execute(
                "UPDATE runs SET status = :status, ended = :ended, duration_s = :duration_s,"
                " error = :error, parameters = COALESCE(:parameters, parameters),"
                " notebook_hash = COALESCE(:notebook_hash, notebook_hash) WHERE run_id = :run_id",
                {**values, "run_id": run_id},
            )
        else:
            values["parameters"] = values["parameters"] or "{}"
            conn.execute(
                "INSERT INTO runs (run_id, notebook, notebook_hash, kind, parent, status, started,"
                " ended, duration_s, parameters, error) VALUES (:run_id, :notebook,"
                " :notebook_hash, :kind, :parent, :status, :started, :ended, :duration_s,"
                " :parameters, :error)",
                {**values, "run_id": run_id, "notebook": str(notebook.get("path", "")),
                 "kind": receipt.get("kind") or "run", "parent": receipt.get("parent"),
                 "started": started},
            )
        conn.execute("DELETE FROM run_files WHERE run_id = ?", (run_id,))
        for entry in receipt.get("data") or []:
            if not isinstance(entry, dict) or "path" not in entry:
                continue
            conn.execute(
                "INSERT OR REPLACE INTO run_files (run_id, path, role, hash, bytes, stored)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, str(entry["path"]), str(entry.get("role", "input")), entry.get("hash"),
                 entry.get("bytes"), 1 if entry.get("stored") else 0),
            )
        for digest in receipt.get("objects") or []:
            conn.execute(
                "INSERT OR REPLACE INTO run_files (run_id, path, role, hash, bytes, stored)"
                " VALUES (?, ?, 'object', ?, NULL, 1)",
                (run_id, str(digest), str(digest)),
            )

    def receipt_path(self, run_id: str) -> Path:
        """Where the receipt of ``run_id`` (a full id) is written."""
        return self.runs_path / run_id / "receipt.json"

    def read_receipt(self, run_id: str) -> dict | None:
        """The receipt file of a full run id, None when it was never written.

        Raises
        ------
        StoreError
            When the file exists but is not valid JSON.
        """
        path = self.receipt_path(run_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            receipt = json.loads(text)
        except ValueError as exc:
            raise StoreError(f"{path}: the receipt is not valid JSON ({exc})") from None
        if not isinstance(receipt, dict):
            raise StoreError(f"{path}: the receipt is not a JSON object")
        return receipt

    def resolve_run_id(self, text: str) -> str:
        """The full run id for ``text``: an exact id or a unique prefix.

        Raises
        ------
        StoreError
            When no run matches (with close ids suggested) or the prefix is ambiguous.
        """
        text = str(text).strip()
        if not text:
            raise StoreError("a run id is required; 'nbprod runs list' shows them")
        rows = self.db.query(
            "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT 6",
            (text, text + "\U0010ffff"),
        )
        ids = [row[0] for row in rows]
        if text in ids:
            return text
        if len(ids) == 1:
            return ids[0]
        if ids:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise StoreError(f"run id prefix {text!r} is ambiguous: it matches {shown}")
        recent = [r[0] for r in self.db.query(
            "SELECT run_id FROM runs ORDER BY started DESC LIMIT 500")]
        close = difflib.get_close_matches(text, recent, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise StoreError(
            f"no run {text!r} in {self.path}{hint}; 'nbprod runs list' shows the runs"
        )

    def get_run(self, run_id: str) -> dict:
        """The receipt of a run (an exact id or a unique prefix).

        A run that has no receipt yet (running, or interrupted before it wrote one) gets a
        receipt built from its index row, with the same keys.

        Raises
        ------
        StoreError
            When the id is unknown or ambiguous, or the receipt file is damaged.
        """
        full = self.resolve_run_id(run_id)
        receipt = self.read_receipt(full)
        if receipt is not None:
            return receipt
        row = self.db.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (full,))[0]
        summary = _row_summary(row)
        return {
            "schema": RECEIPT_SCHEMA,
            "run_id": full,
            "status": summary["status"],
            "kind": summary["kind"],
            "parent": summary["parent"],
            "notebook": {"path": summary["notebook"], "hash": summary["notebook_hash"]},
            "parameters": summary["parameters"],
            "timing": {"start": summary["started"], "end": summary["ended"],
                       "duration_s": summary["duration_s"]},
            "error": summary["error"],
            "runner": {"pid": summary["pid"], "hostname": summary["hostname"]},
            "data": [],
        }

    def list_runs(
        self,
        notebook: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        parent: str | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Run summaries, newest first.

        Parameters
        ----------
        notebook:
            Only runs of this notebook: its recorded path, or its file name.
        status, kind, parent:
            Exact filters.
        limit:
            At most this many runs.
        """
        where, params = [], []
        if notebook:
            escaped = notebook.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(notebook = ? OR notebook LIKE ? ESCAPE '\\')")
            params += [notebook, f"%/{escaped}"]
        for column, value in (("status", status), ("kind", kind), ("parent", parent)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started DESC, run_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_row_summary(row) for row in self.db.query(sql, params)]

    def mark_interrupted_stale(self) -> list[str]:
        """Mark ``interrupted`` every run left ``running`` whose process is gone.

        On this host the recorded pid (and its start time) is checked; a run from another host
        is stale once its heartbeat is older than ``LEASE_SECONDS``. A run that did write its
        receipt but was killed before indexing it is indexed from the receipt instead.

        Returns
        -------
        list[str]
            The ids of the runs whose status changed.
        """
        rows = self.db.query(
            "SELECT run_id, started, pid, pid_start, hostname, heartbeat FROM runs"
            " WHERE status = 'running'"
        )
        here, now = hostname(), time.time()
        changed = []
        for row in rows:
            if row["hostname"] == here:
                gone = not process_alive(row["pid"] or 0, row["pid_start"])
            else:
                gone = now - (row["heartbeat"] or 0) > LEASE_SECONDS
            if gone and self._settle_stale(row):
                changed.append(row["run_id"])
        return changed

    def _settle_stale(self, row: sqlite3.Row) -> bool:
        run_id = row["run_id"]
        try:
            receipt = self.read_receipt(run_id)
        except StoreError:
            receipt = None  # a damaged receipt is reported by verify; the run did not finish
        ended = _now_iso()
        with self.db.write() as conn:
            current = conn.execute(
                "SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if current is None or current[0] != "running":
                return False
            if receipt is not None and receipt.get("status") in FINAL_STATUSES:
                self._index_receipt(conn, receipt)
                return True
            error = {"message": "the runner process ended without writing a receipt"
                                " (killed, crashed or the machine stopped)"}
            conn.execute(
                "UPDATE runs SET status = 'interrupted', ended = ?, duration_s = ?, error = ?"
                " WHERE run_id = ? AND status = 'running'",
                (ended, _duration(row["started"], ended), _json(error), run_id),
            )
        return True

    # -- objects and hashes -----------------------------------------------------------------

    def hash_file(self, path: str | os.PathLike) -> tuple[str, int]:
        """The ``(blake3 hash, size)`` of a file; unchanged files come from the stat cache.

        Raises
        ------
        StoreError
            When the file is missing, disappears or keeps changing while it is hashed.
        """
        return self.cache.hash_file(path)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` as an object; returns its hash."""
        digest = self.objects.write_bytes(bytes(data))
        self.index_object(digest, len(data))
        return digest

    def put_file(self, path: str | os.PathLike) -> str:
        """Copy a file into the object store (deduplicated); returns its hash.

        The bytes are hashed while they are copied, so the object always matches its name. A
        file that changes during the copy is copied again, so the hash returned is always that
        of a complete version of the file.

        Raises
        ------
        StoreError
            When the file cannot be read, or keeps changing over several attempts.
        """
        source = Path(os.path.abspath(path))
        for _ in range(3):
            before = self._stat_source(source)
            entry = self.cache.lookup(before)
            if entry is not None and entry.trusted_for(before) and self.objects.exists(
                    entry.hash):
                self.index_object(entry.hash, entry.size)
                return entry.hash
            started_ns = time.time_ns()
            digest, size = self.objects.copy_file(source)
            after = self._stat_source(source)
            if _same_file_state(before, after) and size == before.st_size:
                self.cache.record(source, before, digest, started_ns)
                self.index_object(digest, size)
                return digest
        raise StoreError(
            f"{source}: the file kept changing while it was being stored;"
            " record the run again once nothing writes to it"
        )

    @staticmethod
    def _stat_source(source: Path) -> os.stat_result:
        try:
            return os.stat(source)
        except FileNotFoundError:
            raise StoreError(f"{source}: the file does not exist, cannot store it") from None
        except OSError as exc:
            raise StoreError(f"{source}: cannot store the file: {exc.strerror}") from None

    def index_object(self, digest: str, size: int) -> None:
        """Record an object whose file is already in place (never before: no dangling rows)."""
        self.db.execute_write(
            "INSERT OR IGNORE INTO objects (hash, size, added) VALUES (?, ?, ?)",
            (digest, size, time.time()),
        )

    # -- checking ---------------------------------------------------------------------------

    def verify(self, rehash: bool = False, repair: bool = False) -> VerifyReport:
        """Check the whole store; see ``nbprod.store.verify.verify_store``."""
        from .verify import verify_store

        return verify_store(self, rehash=rehash, repair=repair)


def _same_file_state(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (
        b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)


def _stored_references(receipt: dict) -> list[str]:
    """The object hashes a receipt claims are in the store."""
    refs = [
        entry.get("hash")
        for entry in receipt.get("data") or []
        if isinstance(entry, dict) and entry.get("stored")
    ]
    refs += list(receipt.get("objects") or [])
    return refs


def open_project_store(
    start: str | os.PathLike = ".",
    store_dir: str | os.PathLike | None = None,
    *,
    create: bool = True,
) -> Store:
    """Open the store of the project containing ``start`` (a notebook or a folder).

    The project root is the folder of the nearest pyproject.toml (else ``start`` itself);
    ``[tool.nbprod.store]`` configures the store and ``store_dir`` (``--store``) overrides its path.

    Raises
    ------
    StoreError, ConfigError
    """
    project = load_project_config(start)
    config = project.section("store", StoreConfig)
    return Store.open(project.root, store_dir=store_dir, config=config, create=create)

