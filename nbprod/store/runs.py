"""The life of a run in the store: begun as ``running``, finished with a receipt, or settled
as ``interrupted`` when its process is gone.

The receipt file is written first (atomically) and indexed second, so a crash in between
leaves a receipt that the next look at stale runs (or ``verify --repair``) indexes.

No secret parameter enters the store, whatever kind of run records it (a run, a sweep and
its points, a pipeline and its steps): ``begin_run`` and ``finish_run`` record parameters
redacted (``***`` for secret names and for values the secret detectors recognise), and
``finish_run`` masks the secret values ``begin_run`` was given wherever else the receipt's
texts show them (an error message, a step's printed output, a sweep's table of points).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..fsutil import atomic_write
from .crash import crashpoint
from .hashing import is_hash
from .liveness import hostname, process_alive, process_start

__all__ = ["FINAL_STATUSES", "KINDS", "LEASE_SECONDS", "RECEIPT_SCHEMA", "RunHandle", "RunLog",
           "STATUSES"]

#: Version of the receipt.json format (DESIGN.md section 5).
RECEIPT_SCHEMA = 1
#: How a run can end; ``running`` is the only other status.
FINAL_STATUSES = ("succeeded", "failed", "kernel_died", "timeout", "incomplete", "interrupted")
STATUSES = ("running", *FINAL_STATUSES)
#: What recorded a run: ``nbprod run`` (and each run of a sweep), a reproduction, a sweep, a
#: pipeline run, or one step of a pipeline (a notebook or a function).
KINDS = ("run", "reproduce", "sweep", "pipeline", "step")
#: A run from another host whose heartbeat is older than this is considered interrupted.
LEASE_SECONDS = 600.0
#: Receipt fields that hold no free text (ids, hashes, paths, timings): never masked, so a
#: short secret value cannot change a hash the store checks.
_STRUCTURAL = ("schema", "run_id", "kind", "parent", "status", "notebook", "timing", "data",
               "objects", "cache", "environment", "models", "worker")

RUN_COLUMNS = (
    "run_id, notebook, notebook_hash, kind, parent, status, started, ended, duration_s,"
    " parameters, error, pid, hostname, heartbeat"
)


@dataclass(frozen=True)
class RunHandle:
    """A run that has begun: its id and the folder its outputs go to."""

    run_id: str
    run_dir: Path


def now_iso() -> str:
    """Now, in UTC, as the ISO text receipts and the index record (to the microsecond)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def new_run_id(at: _dt.datetime | None = None) -> str:
    """A UTC timestamp (now, or ``at``) plus a short random suffix, e.g.
    ``20261122T124415Z-3f9a1c``."""
    moment = (at or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    return f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _duration(started: str | None, ended: str) -> float | None:
    try:
        start = _dt.datetime.fromisoformat(started or "")
        end = _dt.datetime.fromisoformat(ended)
    except ValueError:
        return None
    return round((end - start).total_seconds(), 6)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class RunLog:
    """Begin, heartbeat, finish and settle runs; read and write their receipts.

    A part of ``Store`` (``nbprod.store``), using its ``db``, ``objects`` and ``runs_path``.
    """

    def begin_run(
        self,
        notebook_path: str,
        notebook_hash: str,
        parameters: dict,
        kind: str = "run",
        parent: str | None = None,
        started: str | None = None,
    ) -> RunHandle:
        """Record a new run as ``running`` and create its folder.

        Parameters
        ----------
        notebook_path:
            The notebook, relative to the project root (POSIX separators).
        notebook_hash:
            Its content hash (``hash_bytes`` of the file).
        parameters:
            The coerced parameter values (JSON data). Secret ones are recorded as ``***``
            (``redact_parameters``); their values are remembered, in memory only, so that
            ``finish_run`` masks them in the receipt.
        kind:
            ``run``, ``reproduce``, ``sweep``, ``step``...
        parent:
            The run this one reproduces or belongs to.
        started:
            When it started (ISO 8601), for a run recorded once it has ended elsewhere (a
            sweep's run on a worker); default now. Its id and ``runs list`` show this time.

        Returns
        -------
        RunHandle
        """
        from ..params.redact import redact_parameters, secret_values

        public = redact_parameters(parameters)
        secret = secret_values(parameters)
        pid = os.getpid()
        now = now_iso()
        moment = None
        if started is not None:
            try:
                moment = _dt.datetime.fromisoformat(started)
                now = started
            except ValueError:
                moment = None  # not a time: the run is recorded as starting now
        for _ in range(10):
            run_id = new_run_id(moment)
            try:
                with self.db.write() as conn:
                    conn.execute(
                        "INSERT INTO runs (run_id, notebook, notebook_hash, kind, parent, status,"
                        " started, parameters, pid, pid_start, hostname, heartbeat)"
                        " VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                        (run_id, str(notebook_path), notebook_hash, kind, parent, now,
                         _json(public), pid, process_start(pid), hostname(), time.time()),
                    )
                break
            except sqlite3.IntegrityError:
                continue  # the same id drawn twice in one second: draw again
        else:
            raise StoreError("could not allocate a unique run id; try again")
        if secret:
            self._secrets_by_run()[run_id] = secret
        crashpoint("begin.after_insert")
        run_dir = self.runs_path / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        return RunHandle(run_id, run_dir)

    def _secrets_by_run(self) -> dict[str, list[str]]:
        """Secret parameter values of the runs this process began and has not finished."""
        try:
            return self._run_secrets
        except AttributeError:
            self._run_secrets: dict[str, list[str]] = {}
            return self._run_secrets

    def heartbeat(self, run_id: str) -> None:
        """Renew the lease of a running run (call it periodically from the runner)."""
        self.db.execute_write(
            "UPDATE runs SET heartbeat = ? WHERE run_id = ? AND status = 'running'",
            (time.time(), run_id),
        )

    def finish_run(self, run_id: str, receipt: dict) -> None:
        """Write ``runs/<run_id>/receipt.json`` atomically, then index it.

        The receipt's parameters are recorded redacted, as ``begin_run`` records them, and the
        secret values of its parameters and of those given to ``begin_run`` are masked in its
        other texts (not in ids, hashes, paths and timings).

        Raises
        ------
        StoreError
            When the run is unknown, the status is not a final status, or a data entry marked
            ``stored`` names an object that is not in the store.
        """
        from ..params.redact import mask_known, redact_parameters, secret_values

        rows = self.db.query(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
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
        known = list(self._secrets_by_run().get(run_id, ()))
        if isinstance(receipt["parameters"], dict):
            known += secret_values(receipt["parameters"])
            receipt["parameters"] = redact_parameters(receipt["parameters"])
        receipt = mask_known(receipt, known, skip=_STRUCTURAL, keep=is_hash)
        timing = dict(receipt.get("timing") or {})
        timing.setdefault("start", row["started"])
        timing.setdefault("end", now_iso())
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
        self._secrets_by_run().pop(run_id, None)

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
        ended = timing.get("end") or now_iso()
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
        ended = now_iso()
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


def _stored_references(receipt: dict) -> list[str]:
    """The object hashes a receipt claims are in the store."""
    refs = [
        entry.get("hash")
        for entry in receipt.get("data") or []
        if isinstance(entry, dict) and entry.get("stored")
    ]
    refs += list(receipt.get("objects") or [])
    return refs


