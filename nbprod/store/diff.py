"""Compare two run receipts: parameters, records, environment, git, data and drift, outputs.

Every function returns plain JSON data, so ``nbprod runs diff --output-format json`` and the
JupyterLab panel show exactly what the text view shows. Outputs are compared exactly after
normalisation (execution counts and metadata dropped, images reduced to a hash); tolerant
comparison (floats, memory addresses, timestamps) belongs to ``nbprod reproduce``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .hashing import hash_bytes

__all__ = [
    "diff_data",
    "diff_environment",
    "diff_mappings",
    "diff_outputs",
    "diff_receipts",
    "normalize_outputs",
]

#: Relative change of a numeric column statistic reported as drift.
DRIFT_TOLERANCE = 1e-9


def diff_mappings(a: dict | None, b: dict | None) -> dict:
    """Keys added, removed and changed between two flat mappings.

    Returns
    -------
    dict
        ``{"added": {k: b}, "removed": {k: a}, "changed": {k: {"a": .., "b": ..}}}``.
    """
    a, b = a or {}, b or {}
    return {
        "added": {k: b[k] for k in sorted(b.keys() - a.keys())},
        "removed": {k: a[k] for k in sorted(a.keys() - b.keys())},
        "changed": {
            k: {"a": a[k], "b": b[k]} for k in sorted(a.keys() & b.keys()) if a[k] != b[k]
        },
    }


def _empty(section: dict) -> bool:
    return not any(section.values())


def diff_environment(a: dict | None, b: dict | None) -> dict:
    """Differences between two ``environment`` blocks of receipts.

    Returns
    -------
    dict
        ``packages`` (a mapping diff), ``git`` and ``system`` (field -> {"a", "b"}),
        ``lockfiles`` (a mapping diff) and ``not_reproducible`` (names flagged in either run).
    """
    a, b = a or {}, b or {}
    system = {}
    for key in ("python", "implementation", "platform", "kernel", "executable"):
        if a.get(key) != b.get(key):
            system[key] = {"a": a.get(key), "b": b.get(key)}
    git_a, git_b = a.get("git") or {}, b.get("git") or {}
    git = {
        key: {"a": git_a.get(key), "b": git_b.get(key)}
        for key in ("commit", "dirty", "diff_hash")
        if git_a.get(key) != git_b.get(key)
    }
    return {
        "system": system,
        "packages": diff_mappings(a.get("packages"), b.get("packages")),
        "git": git,
        "lockfiles": diff_mappings(a.get("lockfiles"), b.get("lockfiles")),
        "not_reproducible": sorted(
            set(a.get("not_reproducible") or []) | set(b.get("not_reproducible") or [])
        ),
    }


def _columns(profile: dict | None) -> dict[str, dict]:
    columns = (profile or {}).get("columns") or []
    return {str(c.get("name")): c for c in columns if isinstance(c, dict)}


def _drifted(x: Any, y: Any) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        scale = max(abs(x), abs(y), 1e-300)
        return abs(x - y) / scale > DRIFT_TOLERANCE
    return x != y


def _diff_profile(a: dict | None, b: dict | None) -> dict:
    """Schema and summary drift between two data profiles (see docs/store.md)."""
    ca, cb = _columns(a), _columns(b)
    dtypes = {
        name: {"a": ca[name].get("dtype"), "b": cb[name].get("dtype")}
        for name in sorted(ca.keys() & cb.keys())
        if ca[name].get("dtype") != cb[name].get("dtype")
    }
    stats = {}
    for name in sorted(ca.keys() & cb.keys()):
        keys = (ca[name].keys() | cb[name].keys()) - {"name", "dtype"}
        changed = {
            key: {"a": ca[name].get(key), "b": cb[name].get(key)}
            for key in sorted(keys)
            if _drifted(ca[name].get(key), cb[name].get(key))
        }
        if changed:
            stats[name] = changed
    rows_a, rows_b = (a or {}).get("rows"), (b or {}).get("rows")
    return {
        "records": {"a": rows_a, "b": rows_b} if rows_a != rows_b else {},
        "columns_added": sorted(cb.keys() - ca.keys()),
        "columns_removed": sorted(ca.keys() - cb.keys()),
        "dtypes": dtypes,
        "stats": stats,
    }


def diff_data(a: list | None, b: list | None) -> dict:
    """Data files of two runs, matched by (path, role).

    Returns
    -------
    dict
        ``added`` and ``removed`` entries, ``changed`` entries (hash/bytes with their a and b
        values, plus the profile drift when both runs profiled the file) and ``unchanged`` (a
        count).
    """

    def index(entries: list | None) -> dict[tuple[str, str], dict]:
        return {
            (str(e.get("path")), str(e.get("role", "input"))): e
            for e in entries or []
            if isinstance(e, dict)
        }

    ia, ib = index(a), index(b)
    changed, unchanged = [], 0
    for key in sorted(ia.keys() & ib.keys()):
        ea, eb = ia[key], ib[key]
        entry: dict[str, Any] = {"path": key[0], "role": key[1]}
        for field in ("hash", "bytes"):
            if ea.get(field) != eb.get(field):
                entry[field] = {"a": ea.get(field), "b": eb.get(field)}
        if ea.get("profile") or eb.get("profile"):
            drift = _diff_profile(ea.get("profile"), eb.get("profile"))
            if not _empty(drift):
                entry["profile"] = drift
        if len(entry) > 2:
            changed.append(entry)
        else:
            unchanged += 1
    return {
        "added": [ib[k] for k in sorted(ib.keys() - ia.keys())],
        "removed": [ia[k] for k in sorted(ia.keys() - ib.keys())],
        "changed": changed,
        "unchanged": unchanged,
    }


def normalize_outputs(outputs: list) -> list[dict]:
    """Outputs reduced to what a reader sees: stream text, data by MIME type, errors.

    Execution counts, metadata and transient fields are dropped; images and other binary
    payloads are replaced by their hash so a diff stays small.
    """
    normalized = []
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            normalized.append({"stream": output.get("name"), "text": _text(output.get("text"))})
        elif kind == "error":
            normalized.append({"error": output.get("ename"), "evalue": output.get("evalue")})
        elif kind in ("execute_result", "display_data"):
            data = {}
            for mime, value in sorted((output.get("data") or {}).items()):
                if mime.endswith("json"):
                    data[mime] = value
                elif mime.startswith("text/"):
                    data[mime] = _text(value)
                else:
                    data[mime] = hash_bytes(_text(value).encode("utf-8"))
            normalized.append({"data": data})
    return normalized


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _load_cells(path: Path) -> list[dict] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cells = document.get("cells") if isinstance(document, dict) else None
    return cells if isinstance(cells, list) else None


def diff_outputs(path_a: Path, path_b: Path) -> dict:
    """Compare the code-cell outputs of two executed notebooks cell by cell.

    Cells are matched by cell id when both notebooks have ids, else by position among code
    cells.

    Returns
    -------
    dict
        ``available`` (False when a notebook is missing or unreadable), ``cells`` (the
        differing cells: ``cell`` 1-based index in B (or A when removed), ``cell_id``,
        ``change`` (changed, added, removed) and the normalised outputs ``a`` and ``b``) and
        ``same`` (a count).
    """
    cells_a, cells_b = _load_cells(path_a), _load_cells(path_b)
    if cells_a is None or cells_b is None:
        missing = [str(p) for p, c in ((path_a, cells_a), (path_b, cells_b)) if c is None]
        return {"available": False, "missing": missing, "cells": [], "same": 0}

    def code(cells: list[dict]) -> list[tuple[int, dict]]:
        return [(i, c) for i, c in enumerate(cells, start=1) if c.get("cell_type") == "code"]

    code_a, code_b = code(cells_a), code(cells_b)
    by_id = all(c.get("id") for _, c in code_a + code_b)

    def key(position: int, cell: dict) -> str:
        return str(cell["id"]) if by_id else f"#{position}"

    keyed_a = {key(p, c): (i, c) for p, (i, c) in enumerate(code_a)}
    keyed_b = {key(p, c): (i, c) for p, (i, c) in enumerate(code_b)}
    differing, same = [], 0
    for name in list(keyed_b) + [k for k in keyed_a if k not in keyed_b]:
        a_cell, b_cell = keyed_a.get(name), keyed_b.get(name)
        out_a = normalize_outputs(a_cell[1].get("outputs")) if a_cell else None
        out_b = normalize_outputs(b_cell[1].get("outputs")) if b_cell else None
        if a_cell and b_cell and out_a == out_b:
            same += 1
            continue
        index, cell = b_cell if b_cell else a_cell
        differing.append({
            "cell": index,
            "cell_id": cell.get("id"),
            "change": "changed" if a_cell and b_cell else ("added" if b_cell else "removed"),
            "a": out_a,
            "b": out_b,
        })
    return {"available": True, "cells": differing, "same": same}


def diff_receipts(
    a: dict, b: dict, dir_a: Path | None = None, dir_b: Path | None = None
) -> dict:
    """Everything that differs between runs ``a`` and ``b``.

    Parameters
    ----------
    a, b:
        Receipts (``Store.get_run``).
    dir_a, dir_b:
        The run folders; when given, their ``output.ipynb`` files are compared cell by cell.

    Returns
    -------
    dict
        ``a``, ``b`` (run ids), ``status``, ``notebook``, ``parameters``, ``records`` (the
        values the notebook recorded with ``nbprod.record``), ``environment``, ``data``,
        ``outputs`` (or None), ``identical`` (True when nothing differs) and
        ``changed_during_run`` (each run's inputs that changed while it read them).
    """
    status = {"a": a.get("status"), "b": b.get("status")} if a.get("status") != b.get(
        "status") else {}
    nb_a, nb_b = a.get("notebook") or {}, b.get("notebook") or {}
    notebook = {
        key: {"a": nb_a.get(key), "b": nb_b.get(key)}
        for key in ("path", "hash")
        if nb_a.get(key) != nb_b.get(key)
    }
    parameters = diff_mappings(a.get("parameters"), b.get("parameters"))
    records = diff_mappings(a.get("records"), b.get("records"))
    environment = diff_environment(a.get("environment"), b.get("environment"))
    data = diff_data(a.get("data"), b.get("data"))
    outputs = None
    if dir_a is not None and dir_b is not None:
        outputs = diff_outputs(Path(dir_a) / "output.ipynb", Path(dir_b) / "output.ipynb")
    identical = (
        not status
        and not notebook
        and _empty(parameters)
        and _empty(records)
        and not environment["system"]
        and not environment["git"]
        and _empty(environment["packages"])
        and _empty(environment["lockfiles"])
        and not (data["added"] or data["removed"] or data["changed"])
        and not (outputs and outputs["cells"])
    )
    return {
        "a": a.get("run_id"),
        "b": b.get("run_id"),
        "status": status,
        "notebook": notebook,
        "parameters": parameters,
        "records": records,
        "environment": environment,
        "data": data,
        "outputs": outputs,
        "identical": identical,
        # Inputs each run saw change while it read them: not a difference between the runs,
        # but a reason not to trust either run's data hashes.
        "changed_during_run": {"a": a.get("changed_during_run") or [],
                               "b": b.get("changed_during_run") or []},
    }
