"""Finding runs in the store's index: ids from prefixes, receipts, filtered lists."""

from __future__ import annotations

import difflib
import json
import sqlite3

from ..errors import StoreError
from .runs import RECEIPT_SCHEMA, RUN_COLUMNS

__all__ = ["RunQueries"]


def _row_summary(row: sqlite3.Row) -> dict:
    """A run index row as the summary dict ``list_runs`` returns."""
    summary = dict(row)
    summary["parameters"] = json.loads(summary["parameters"] or "{}")
    summary["error"] = json.loads(summary["error"]) if summary["error"] else None
    return summary


class RunQueries:
    """Look runs up; a part of ``Store`` (``nbprod.store``), reading its ``db``."""

    def resolve_run_id(self, text: str) -> str:
        """The full run id for ``text``: an exact id, a unique prefix, or a unique prefix of
        the short id after the ``-`` (``a59956`` for ``20261204T220146Z-a59956``: what the lab
        shows).

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
        if not ids and "-" not in text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = self.db.query(
                "SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY run_id LIMIT 6",
                (f"%-{escaped}%",),
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
        """The receipt of a run (any id ``resolve_run_id`` accepts).

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
        row = self.db.query(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (full,))[0]
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
        sql = f"SELECT {RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started DESC, run_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_row_summary(row) for row in self.db.query(sql, params)]
