"""Inputs that change while a run reads them: hashed at first read and again at the end.

The receipt's data hashes are taken after the run. A file rewritten while the notebook was
reading it (another job refreshing a CSV, a sync client) would be recorded in its end state,
as if the run had read that: the run could never be reproduced and nothing would say why.

``InputWatcher`` follows the kernel's access log while the notebook runs and hashes each
file it reads as soon as the log names it (through the store's stat cache, so an input that
stays unchanged is not read a second time at the end). The kernel's audit hook also logs the
file's size and modification time at the moment it is opened, so a change between the open
and the watcher's hash is caught too. ``changes`` compares with the end-state entries of the
receipt; every difference goes into the receipt as ``changed_during_run``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from .capture import relative_to_root

__all__ = ["InputWatcher"]

POLL_S = 0.2


class InputWatcher:
    """Hashes the files a running notebook reads, as the access log names them.

    Parameters
    ----------
    log:
        The kernel's access log (``access.jsonl`` in the run folder).
    store:
        The run store (``hash_file``: blake3 with the stat cache; thread-safe).
    root:
        The project root: paths are recorded relative to it, as in the receipt.
    """

    def __init__(self, log: Path, store: Any, root: Path):
        self.log = log
        self.store = store
        self.root = Path(root)
        self.first: dict[str, dict] = {}  # relative path -> {"hash", "opened", "hashed"}
        self._offset = 0
        self._pending = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nbprod-input-watcher",
                                        daemon=True)

    def start(self) -> InputWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following the log, after a last pass over what it holds."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._scan()

    def changes(self, entries: list[dict]) -> list[dict]:
        """Inputs whose content at the end differs from the content first read.

        Parameters
        ----------
        entries:
            The receipt's ``data`` entries (end-state hashes).

        Returns
        -------
        list[dict]
            ``{"path", "hash_at_first_read", "hash_at_end"}`` per changed input;
            ``hash_at_first_read`` is None when the file had already changed between the
            notebook's open and the first hash (seen from its size and modification time).
        """
        changed = []
        for entry in entries:
            seen = self.first.get(str(entry.get("path")))
            if entry.get("role") != "input" or seen is None:
                continue
            end = entry.get("hash")
            if seen["opened"] is not None and seen["hashed"] is not None and (
                    seen["opened"] != seen["hashed"]):
                changed.append({"path": entry["path"], "hash_at_first_read": None,
                                "hash_at_end": end})
            elif seen["hash"] is not None and end is not None and seen["hash"] != end:
                changed.append({"path": entry["path"], "hash_at_first_read": seen["hash"],
                                "hash_at_end": end})
        return changed

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            self._scan()

    def _scan(self) -> None:
        try:
            with open(self.log, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return
        self._offset += len(chunk)
        text = self._pending + chunk.decode("utf-8", "replace")
        lines = text.split("\n")
        self._pending = lines.pop()  # a line the kernel has not finished writing
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and not item.get("write"):
                self._first_read(item)

    def _first_read(self, item: dict) -> None:
        path = item.get("path")
        if not isinstance(path, str):
            return
        relative = relative_to_root(Path(path), self.root)
        if relative is None or relative in self.first:
            return
        opened = item.get("stat")
        record: dict[str, Any] = {"hash": None, "opened": None, "hashed": None}
        self.first[relative] = record
        try:
            info = os.stat(path)
            digest, _size = self.store.hash_file(path)
        except Exception:  # noqa: BLE001 - gone or unreadable: the end-state entry says so
            return
        record["hash"] = digest
        if isinstance(opened, list) and len(opened) == 2:
            record["opened"] = tuple(opened)
            record["hashed"] = (info.st_size, info.st_mtime_ns)
