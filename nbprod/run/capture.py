"""Data capture without declarations: which files a notebook opened, by content hash.

Before the first cell, nbprod runs a hidden setup snippet in the kernel (a silent execution:
no cell, no execution count, no output in the notebook). It installs an audit hook
(``sys.addaudithook``) on the ``open`` event that appends each file under the project root to
an access log in the run folder as soon as it is first opened, so nothing is lost if the kernel
dies. After the run, the runner turns the log into receipt ``data`` entries: inputs hashed (and
copied when ``copy_data`` is set), outputs copied into the store up to a size limit, tabular
inputs profiled.

An audit hook sees what Python code opens (``open``, ``os.open``, pandas, NumPy). It cannot see
files opened by subprocesses or by C libraries that call the C library directly (for example
pyarrow's own file readers); those are documented limits.

The same hook follows the ``import`` event: the top-level name of every module the kernel loads
(and of those already loaded when the setup runs, ipykernel's own) goes to ``imports.txt`` in
the run folder, from which the receipt lists the distributions the run needed (``needed``), the
set ``nbprod env lock`` pins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .record import RECORDS_ENV, read_json_lines

__all__ = [
    "IMPORTS_FILE",
    "Access",
    "capture_data",
    "read_access_log",
    "read_imports",
    "relative_to_root",
    "setup_source",
]

RUN_ID_ENV = "NBPROD_RUN_ID"
#: The top-level modules the kernel imported, one a line (in the run folder).
IMPORTS_FILE = "imports.txt"

# The kernel side. Values are formatted with repr() only, so paths cannot inject code.
_SETUP = '''\
def _nbprod_setup():
    import json, os, sys
    roots = tuple(r.rstrip(os.sep) + os.sep for r in {roots!r})
    excluded = tuple(e.rstrip(os.sep) for e in {excluded!r}) + tuple(
        p.rstrip(os.sep) for p in {{sys.prefix, sys.base_prefix, sys.exec_prefix}})
    os.environ[{records_env!r}] = {records!r}
    os.environ[{run_env!r}] = {run_id!r}
    log = open({log!r}, "a", buffering=1, encoding="utf-8")
    imports = open({imports!r}, "a", buffering=1, encoding="utf-8")
    roots_seen = set()

    def imported(name):
        root = name.partition(".")[0]
        if root and root not in roots_seen:
            roots_seen.add(root)
            imports.write(root + "\\n")

    for name in list(sys.modules):
        imported(name)
    seen = set()
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    code_suffixes = (".py", ".pyc", ".pyi", ".so", ".pth")

    def hook(event, args):
        if event == "import":
            try:
                imported(args[0])
            except Exception:
                pass
            return
        if event != "open":
            return
        try:
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return
            path = os.path.normpath(os.path.join(os.getcwd(), os.fsdecode(path)))
            if not path.startswith(roots) or path.endswith(code_suffixes):
                return
            for prefix in excluded:
                if path == prefix or path.startswith(prefix + os.sep):
                    return
            if "site-packages" in path or "__pycache__" in path:
                return
            write = any(c in mode for c in "wax+") if mode else bool(flags & write_flags)
            if (path, write) in seen:
                return
            seen.add((path, write))
            entry = {{"path": path, "write": write}}
            if not write:
                try:  # as it is when opened, to tell a change made while the run reads it
                    st = os.stat(path)
                    entry["stat"] = [st.st_size, st.st_mtime_ns]
                except OSError:
                    pass
            log.write(json.dumps(entry) + "\\n")
        except Exception:
            pass  # never break the notebook's own open()

    sys.addaudithook(hook)


_nbprod_setup()
del _nbprod_setup
'''


def setup_source(
    *, project_root: Path, store_path: Path, access_log: Path, records: Path, run_id: str,
    capture: bool = True,
) -> str:
    """The hidden snippet run in the kernel before the first cell.

    It sets ``NBPROD_RECORDS_FILE`` (for ``nbprod.record``) and, when ``capture`` is on,
    installs the audit hook that logs opened files under ``project_root`` (never the store,
    the Python installation, site-packages or compiled code).
    """
    if not capture:
        return (f"import os as _nbprod_os\n_nbprod_os.environ[{RECORDS_ENV!r}] = {str(records)!r}\n"
                f"_nbprod_os.environ[{RUN_ID_ENV!r}] = {run_id!r}\ndel _nbprod_os\n")
    roots = sorted({str(project_root), os.path.realpath(project_root)})
    excluded = sorted({str(store_path), os.path.realpath(store_path)})
    return _SETUP.format(
        roots=roots, excluded=excluded, records_env=RECORDS_ENV, records=str(records),
        run_env=RUN_ID_ENV, run_id=run_id, log=str(access_log),
        imports=str(access_log.parent / IMPORTS_FILE),
    )


def read_imports(path: Path) -> list[str] | None:
    """The top-level modules a run's kernel imported, or None when it did not say (no
    capture, another language, a kernel that died before the setup ran)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    return sorted({line.strip() for line in text.splitlines() if line.strip()})


@dataclass(frozen=True)
class Access:
    """A file the notebook opened: its absolute path, whether it wrote to it, and whether
    it existed when it was opened for reading (a read of a missing file fails, but the
    attempt is logged)."""

    path: Path
    written: bool
    existed: bool = True


def read_access_log(path: Path) -> list[Access]:
    """The files opened during a run, one entry per file (written wins), sorted by path."""
    written: dict[str, bool] = {}
    existed: dict[str, bool] = {}
    for item in read_json_lines(path, "path"):
        name = item["path"]
        written[name] = written.get(name, False) or bool(item.get("write"))
        existed[name] = existed.get(name, False) or "stat" in item or bool(item.get("write"))
    return [Access(Path(p), w, existed[p]) for p, w in sorted(written.items())]


def capture_data(
    accesses: list[Access],
    store: Any,
    root: Path,
    *,
    copy_inputs: bool,
    copy_outputs_max_bytes: int,
    profile_max_bytes: int,
) -> tuple[list[dict], list[str]]:
    """Receipt ``data`` entries for the files a run opened.

    Parameters
    ----------
    accesses:
        From ``read_access_log``.
    store:
        The run store: ``hash_file`` (stat-cached blake3) and ``put_file`` (copy into objects).
    root:
        The project root; entry paths are relative to it (files outside are left out).
    copy_inputs:
        Copy inputs into the store too (otherwise they are only hashed).
    copy_outputs_max_bytes:
        Outputs up to this size are copied into the store; larger ones are only hashed.
    profile_max_bytes:
        CSV inputs larger than this are profiled on their first rows only.

    Returns
    -------
    (entries, hashes)
        The ``data`` entries, and the hashes of the objects stored (for ``receipt["objects"]``).
    """
    from .profile import profile_file

    entries: list[dict] = []
    stored: list[str] = []
    for access in accesses:
        relative = relative_to_root(access.path, root)
        if relative is None:
            continue
        role = "output" if access.written else "input"
        entry: dict[str, Any] = {"path": relative, "role": role}
        try:
            info = access.path.stat()
        except OSError:
            if role == "output":
                continue  # written, then removed: a temporary file, not a result
            error = ("no longer exists after the run" if access.existed
                     else "did not exist when the notebook opened it")
            entries.append({**entry, "error": error, "stored": False})
            continue
        if not access.path.is_file():
            continue
        keep = copy_inputs if role == "input" else info.st_size <= copy_outputs_max_bytes
        try:
            if keep:
                digest = store.put_file(access.path)
                stored.append(digest)
                size = info.st_size
            else:
                digest, size = store.hash_file(access.path)
        except (StoreError, OSError) as exc:
            entries.append({**entry, "error": str(exc), "stored": False})
            continue
        entry.update(hash=digest, bytes=size, stored=keep)
        if role == "input":
            profile = profile_file(access.path, max_bytes=profile_max_bytes)
            if profile is not None:
                entry["profile"] = profile
        entries.append(entry)
    return entries, stored


def relative_to_root(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` (either may be reached through symlinks), or None."""
    for base in (root, Path(os.path.realpath(root))):
        for candidate in (path, Path(os.path.realpath(path))):
            try:
                return candidate.relative_to(base).as_posix()
            except ValueError:
                continue
    return None
