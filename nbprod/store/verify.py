"""``nbprod store verify``: prove the store is whole, and optionally repair what can be repaired.

Checks, in order: SQLite's ``PRAGMA integrity_check``; runs left ``running`` whose process is gone
(always marked ``interrupted``, that is the store's normal recovery); every object re-hashed
against its name and checked read-only; references (indexed objects, files a run stored) that
name a missing object; receipts that disagree with the index; stray ``.nbprod-tmp-*`` files of
dead writers; secrets left unmasked in what runs stored (output notebooks, receipts' records
and errors, the files the kernel wrote), found with the lint detectors that mask them when a
run is recorded, and secret parameters recorded with their values instead of ``***`` (in
receipts, a sweep's points and table included, and in the index); with ``rehash``, every
stat-cache entry whose file still looks unchanged is re-hashed (the cache's blind spot: same
size, mtime restored).

``repair`` removes stray temp files, re-indexes receipts, indexes unindexed objects, makes
objects read-only again and drops lying cache entries. It never deletes an object or a receipt:
a corrupted object is reported for a human to deal with.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..fsutil import TEMP_PREFIX
from .hashing import hash_path
from .liveness import process_alive
from .objects import OBJECT_MODE

if TYPE_CHECKING:
    from . import Store

__all__ = ["VerifyReport", "verify_store"]

_TEMP_PID = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")


@dataclass
class VerifyReport:
    """What ``verify`` found and did. ``problems`` counts what is still wrong afterwards."""

    store: str
    integrity: list[str] = field(default_factory=list)
    objects_checked: int = 0
    runs_checked: int = 0
    hash_mismatches: list[dict] = field(default_factory=list)
    writable_objects: list[str] = field(default_factory=list)
    dangling_references: list[dict] = field(default_factory=list)
    missing_receipts: list[str] = field(default_factory=list)
    bad_receipts: list[dict] = field(default_factory=list)
    unindexed_receipts: list[str] = field(default_factory=list)
    unindexed_objects: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    temp_files_in_use: list[str] = field(default_factory=list)
    rehashed: int = 0
    stale_cache_entries: list[dict] = field(default_factory=list)
    unmasked_secrets: list[dict] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    repair: bool = False

    @property
    def integrity_ok(self) -> bool:
        """True when SQLite reports ``ok``."""
        return self.integrity == ["ok"]

    @property
    def problems(self) -> int:
        """How many problems remain (the CLI exits 1 when this is not 0)."""
        count = (
            len(self.hash_mismatches)
            + len(self.dangling_references)
            + len(self.missing_receipts)
            + len(self.bad_receipts)
            + len(self.unmasked_secrets)
            + (0 if self.integrity_ok else 1)
        )
        if not self.repair:
            count += (
                len(self.writable_objects)
                + len(self.unindexed_receipts)
                + len(self.temp_files)
                + len(self.stale_cache_entries)
            )
        return count

    def to_dict(self) -> dict:
        """The report as JSON data (the CLI's ``--output-format json``)."""
        data = asdict(self)
        data["integrity_ok"] = self.integrity_ok
        data["problems"] = self.problems
        data["ok"] = self.problems == 0
        return data


def verify_store(store: Store, rehash: bool = False, repair: bool = False) -> VerifyReport:
    """Check ``store``; with ``repair``, fix what can be fixed without losing data.

    Returns
    -------
    VerifyReport
    """
    report = VerifyReport(store=str(store.path), repair=repair)
    report.integrity = store.db.integrity_check()
    report.interrupted = store.mark_interrupted_stale()
    _check_objects(store, report, repair)
    _check_references(store, report)
    _check_receipts(store, report, repair)
    _check_temp_files(store, report, repair)
    _check_secrets(store, report)
    if rehash:
        _check_cache(store, report, repair)
    return report


def _check_objects(store: Store, report: VerifyReport, repair: bool) -> None:
    indexed = {row[0] for row in store.db.query("SELECT hash FROM objects")}
    for digest, path in store.objects.iter_objects():
        report.objects_checked += 1
        try:
            actual, size, _ = hash_path(path)
        except StoreError as exc:
            report.hash_mismatches.append({"hash": digest, "path": str(path), "actual": None,
                                           "error": str(exc)})
            continue
        if actual != digest:
            report.hash_mismatches.append({"hash": digest, "path": str(path), "actual": actual})
            continue
        if os.stat(path).st_mode & 0o777 != OBJECT_MODE:
            report.writable_objects.append(digest)
            if repair:
                os.chmod(path, OBJECT_MODE)
                report.repaired.append(f"made {digest} read-only")
        if digest not in indexed:
            # Killed between the rename and the index insert: the blob is whole, index it.
            report.unindexed_objects.append(digest)
            if repair:
                store.index_object(digest, size)
                report.repaired.append(f"indexed object {digest}")


def _check_references(store: Store, report: VerifyReport) -> None:
    for (digest,) in store.db.query("SELECT hash FROM objects"):
        if not store.objects.exists(digest):
            report.dangling_references.append({"from": "objects index", "hash": digest})
    rows = store.db.query(
        "SELECT run_id, path, role, hash FROM run_files WHERE stored = 1 ORDER BY run_id"
    )
    for run_id, path, role, digest in rows:
        if not digest or not store.objects.exists(digest):
            report.dangling_references.append(
                {"from": f"run {run_id}", "path": path, "role": role, "hash": digest}
            )


def _check_receipts(store: Store, report: VerifyReport, repair: bool) -> None:
    rows = {row[0]: row[1] for row in store.db.query("SELECT run_id, status FROM runs")}
    report.runs_checked = len(rows)
    folders = {p.name for p in store.runs_path.iterdir() if p.is_dir()} if (
        store.runs_path.is_dir()) else set()
    for run_id in sorted(folders | rows.keys()):
        try:
            receipt = store.read_receipt(run_id)
        except StoreError as exc:
            report.bad_receipts.append({"run_id": run_id, "error": str(exc)})
            continue
        status = rows.get(run_id)
        if receipt is None:
            if status not in (None, "running", "interrupted"):
                report.missing_receipts.append(run_id)
            continue
        if receipt.get("run_id") != run_id:
            report.bad_receipts.append(
                {"run_id": run_id, "error": f"receipt names run {receipt.get('run_id')!r}"})
            continue
        if status == "running":
            continue  # its live runner is indexing the receipt right now
        if status != receipt.get("status"):
            report.unindexed_receipts.append(run_id)
            if repair:
                store.reindex(receipt)
                report.repaired.append(f"indexed receipt of run {run_id}")
            continue
        for entry in receipt.get("data") or []:
            if isinstance(entry, dict) and entry.get("stored") and not store.objects.exists(
                    str(entry.get("hash"))):
                report.dangling_references.append(
                    {"from": f"receipt {run_id}", "path": entry.get("path"),
                     "role": entry.get("role"), "hash": entry.get("hash")})


def _check_temp_files(store: Store, report: VerifyReport, repair: bool) -> None:
    for folder, _dirs, files in os.walk(store.path):
        for name in files:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(folder) / name
            match = _TEMP_PID.match(name)
            writer = int(match.group(1)) if match else 0
            if writer and writer != os.getpid() and process_alive(writer):
                report.temp_files_in_use.append(str(path))
                continue
            report.temp_files.append(str(path))
            if repair:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                report.repaired.append(f"removed temp file {path}")


def _check_secrets(store: Store, report: VerifyReport) -> None:
    """Secrets a run's stored copies still show (written before masking existed, or edited
    by hand): reported by file and place, the value itself masked."""
    import json

    from ..lint.rules.secrets import find_secrets, mask

    for run_id, text in store.db.query("SELECT run_id, parameters FROM runs ORDER BY run_id"):
        try:
            indexed = json.loads(text or "{}")
        except ValueError:
            continue
        for place, kind, value in _secret_parameters(indexed, "index parameters"):
            report.unmasked_secrets.append({
                "run_id": run_id, "path": "store.sqlite", "where": place, "kind": kind,
                "value": mask(value)})
    if not store.runs_path.is_dir():
        return
    for run_dir in sorted(p for p in store.runs_path.iterdir() if p.is_dir()):
        for name, place, text in _stored_texts(run_dir, json):
            for kind, value in find_secrets(text):
                report.unmasked_secrets.append({
                    "run_id": run_dir.name, "path": f"runs/{run_dir.name}/{name}",
                    "where": place, "kind": kind, "value": mask(value)})
        for place, kind, value in _receipt_parameters(run_dir, json):
            report.unmasked_secrets.append({
                "run_id": run_dir.name, "path": f"runs/{run_dir.name}/receipt.json",
                "where": place, "kind": kind, "value": mask(value)})


def _receipt_parameters(run_dir: Path, json):
    """(place, kind, value) of every secret parameter a receipt records with its value: its
    parameters (a sweep's points among them) and a sweep's table of runs."""
    try:
        receipt = json.loads((run_dir / "receipt.json").read_bytes())
    except (OSError, ValueError):
        return  # a missing or damaged receipt is reported by _check_receipts
    if not isinstance(receipt, dict):
        return
    yield from _secret_parameters(receipt.get("parameters"), "parameters")
    sweep = receipt.get("sweep")
    runs = sweep.get("runs") if isinstance(sweep, dict) else None
    for entry in runs if isinstance(runs, list) else []:
        if isinstance(entry, dict):
            yield from _secret_parameters(entry.get("parameters"),
                                          f"sweep run {entry.get('index')} parameters")


def _secret_parameters(parameters, place: str):
    """(place, kind, value) of the parameters that should read ``***`` and do not: a secret
    name with a value, or a value the secret detectors recognise; mappings within (a sweep's
    points, a ``dict`` parameter) are searched the same way."""
    import json

    from ..lint.rules.secrets import find_secrets
    from ..params.redact import REDACTED, is_secret

    if isinstance(parameters, list):
        for index, item in enumerate(parameters, start=1):
            yield from _secret_parameters(item, f"{place} [{index}]")
        return
    if not isinstance(parameters, dict):
        return
    for name, value in parameters.items():
        where = f"{place}: {name}"
        if is_secret(str(name)) and value not in (REDACTED, None, ""):
            if isinstance(value, (dict, list)):
                value = json.dumps(value, ensure_ascii=False)
            yield where, "secret parameter", str(value)
        elif isinstance(value, str):
            for kind, found in find_secrets(value):
                yield where, kind, found
        elif isinstance(value, (dict, list)):
            yield from _secret_parameters(value, where)


def _stored_texts(run_dir: Path, json):
    """(file name, place, text) of what a run stored that may hold a printed secret."""
    for name in ("records.jsonl", "kernel.log"):
        try:
            yield name, "file", (run_dir / name).read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
    try:
        receipt = json.loads((run_dir / "receipt.json").read_bytes())
    except (OSError, ValueError):
        receipt = None  # a missing or damaged receipt is reported by _check_receipts
    if isinstance(receipt, dict):
        for key in ("records", "error"):
            yield "receipt.json", key, json.dumps(receipt.get(key), ensure_ascii=False)
    try:
        output = json.loads((run_dir / "output.ipynb").read_bytes())
    except (OSError, ValueError):
        return
    cells = output.get("cells") if isinstance(output, dict) else None
    for index, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        if outputs:
            yield "output.ipynb", f"cell {index} outputs", _output_text(outputs, json)


def _output_text(outputs: list, json) -> str:
    """The text of a cell's outputs, binary MIME data (base64 images) left out."""
    parts = []
    for output in outputs:
        if not isinstance(output, dict):
            continue
        for key, value in output.items():
            if key == "data" and isinstance(value, dict):
                parts += [_as_text(v, json) for mime, v in value.items()
                          if mime.startswith("text/") or "json" in mime]
            elif key in ("text", "ename", "evalue", "traceback"):
                parts.append(_as_text(value, json))
    return "\n".join(parts)


def _as_text(value, json) -> str:
    """Text as Jupyter stores it (a string or a list of lines); other JSON as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return json.dumps(value, ensure_ascii=False)


def _check_cache(store: Store, report: VerifyReport, repair: bool) -> None:
    for entry in store.cache.entries():
        try:
            st = os.stat(entry.path)
        except OSError:
            continue  # the file is gone: the entry can never match again
        if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != (
            entry.dev, entry.inode, entry.size, entry.mtime_ns
        ):
            continue  # changed visibly: the next hash_file re-hashes it anyway
        try:
            actual, _, _ = hash_path(entry.path)
        except StoreError:
            continue
        report.rehashed += 1
        if actual != entry.hash:
            report.stale_cache_entries.append({
                "path": entry.path, "cached": entry.hash, "actual": actual,
                "runs": _runs_recording(store, entry.path, entry.hash),
            })
            if repair:
                store.cache.forget(entry)
                report.repaired.append(f"dropped stale hash cache entry for {entry.path}")


def _runs_recording(store: Store, path: str, digest: str) -> list[str]:
    """Runs whose receipt may carry the stale hash of ``path`` (same hash, same file)."""
    rows = store.db.query("SELECT run_id, path FROM run_files WHERE hash = ?", (digest,))
    return sorted({
        run_id for run_id, relative in rows
        if os.path.abspath(store.root / relative) == os.path.abspath(path)
    })
