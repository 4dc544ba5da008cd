"""What a report shows of a run, taken from its receipt: plain data for the page templates.

The templates only lay out what this module decides: which values are defaults, which
packages are worth naming, what changed since the previous run of the same notebook. Values
come from the receipt and the run's executed notebook, both already masked by the store, so a
report shows no secret the store does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..store.diff import diff_environment

__all__ = ["KEY_PACKAGES", "run_context", "test_context"]

#: Packages a reviewer asks about first; the page lists those the run had.
KEY_PACKAGES = (
    "numpy", "pandas", "polars", "scipy", "scikit-learn", "xgboost", "lightgbm", "catboost",
    "torch", "tensorflow", "keras", "jax", "transformers", "statsmodels", "matplotlib",
    "seaborn", "pyarrow", "ipykernel", "papermill", "nbprod",
)

FAILED = {"failed", "kernel_died", "timeout", "interrupted", "incomplete"}


def run_context(receipt: dict, run_dir: Path, previous: dict | None = None) -> dict[str, Any]:
    """Everything the page says about one run.

    Parameters
    ----------
    receipt:
        The run's receipt, as the store returns it.
    run_dir:
        The run's folder (its executed notebook, when it has one).
    previous:
        The receipt of the previous run of the same notebook, to say what changed in the
        environment; None when there is none.
    """
    timing = receipt.get("timing") or {}
    env = receipt.get("environment") or {}
    git = env.get("git") or None
    notebook = receipt.get("notebook") or {}
    output = run_dir / "output.ipynb"
    status = receipt.get("status") or "unknown"
    return {
        "run_id": receipt.get("run_id"),
        "kind": receipt.get("kind") or "run",
        "parent": receipt.get("parent"),
        "status": status,
        "ok": status == "succeeded",
        "notebook": notebook.get("path"),
        "notebook_hash": short_hash(notebook.get("hash")),
        "started": _when(timing.get("start")),
        "duration": _duration(timing.get("duration_s")),
        "host": (receipt.get("runner") or {}).get("hostname") or env.get("hostname"),
        "git": {"commit": (git.get("commit") or "")[:12] or "no commit",
                "dirty": bool(git.get("dirty"))} if git else None,
        "git_note": None if git else _git_note(receipt),
        "parameters": parameters(receipt, run_dir),
        "records": [{"name": k, "value": show(v)} for k, v in
                    (receipt.get("records") or {}).items()],
        "error": error(receipt),
        "inputs": [_data(e) for e in receipt.get("data") or [] if e.get("role") == "input"],
        "outputs": [_data(e) for e in receipt.get("data") or [] if e.get("role") != "input"],
        "models": [{"name": m.get("name"), "hash": short_hash(m.get("hash"))}
                   for m in receipt.get("models") or []],
        "environment": environment(env, previous),
        "has_output": output.is_file(),
        "steps": _steps(receipt),
    }


def test_context(notebook: str, *, summary: str, cell: int | None, cell_id: str | None,
                 parameters: dict[str, Any], test: str) -> dict[str, Any]:
    """The page's data for a notebook test that failed (``pytest --nbprod-report``).

    A test run has no receipt: the page names the test, the failing cell and the problem,
    with the same layout as a run's report.
    """
    return {
        "run_id": test, "kind": "pytest", "parent": None, "status": "failed", "ok": False,
        "notebook": notebook, "notebook_hash": "-", "started": "-", "duration": "-",
        "host": None, "git": None, "git_note": None,
        "parameters": [{"name": k, "value": show(v), "given": True, "type": None}
                       for k, v in parameters.items()],
        "records": [], "inputs": [], "outputs": [], "models": [],
        "error": {"cell": cell, "cell_id": cell_id,
                  "anchor": f"cell-id={cell_id}" if cell_id else None,
                  "ename": None, "message": summary},
        "environment": {"python": None},
        "has_output": True, "steps": [],
    }


def parameters(receipt: dict, run_dir: Path) -> list[dict[str, Any]]:
    """Every value the run used, shown, with its type, and whether it was given or a default."""
    from ..run.used_parameters import parameters_used

    return [{**row, "value": show(row["value"])} for row in parameters_used(receipt, run_dir)]


def error(receipt: dict) -> dict[str, Any] | None:
    """Where and how the run failed; the anchor is the failing cell's id on the page."""
    found = receipt.get("error")
    if not found:
        return None
    cell_id = found.get("cell_id")
    return {
        "cell": found.get("cell"),
        "cell_id": cell_id,
        "anchor": f"cell-id={cell_id}" if cell_id else None,
        "ename": found.get("ename"),
        "message": found.get("evalue") or found.get("message") or "",
    }


def environment(env: dict, previous: dict | None) -> dict[str, Any]:
    """Python, platform, the key packages, and what differs from the previous run."""
    packages = env.get("packages") or {}
    changes: list[str] = []
    previous_id = None
    if previous is not None:
        previous_id = previous.get("run_id")
        diff = diff_environment(previous.get("environment"), env)
        for key, change in diff["system"].items():
            if key != "executable":
                changes.append(f"{key}: {change['a']} → {change['b']}")
        for name, change in diff["packages"]["changed"].items():
            changes.append(f"{name}: {change['a']} → {change['b']}")
        changes += [f"{name} {version} added" for name, version in
                    diff["packages"]["added"].items()]
        changes += [f"{name} {version} removed" for name, version in
                    diff["packages"]["removed"].items()]
        for key, change in diff["git"].items():
            changes.append(f"git {key}: {change['a']} → {change['b']}")
    return {
        "python": env.get("python"),
        "platform": env.get("platform"),
        "kernel": (env.get("kernel") or {}).get("display_name")
        if isinstance(env.get("kernel"), dict) else env.get("kernel"),
        "package_count": len(packages),
        "key_packages": [(n, packages[n]) for n in KEY_PACKAGES if n in packages],
        "not_reproducible": env.get("not_reproducible") or [],
        "previous_run": previous_id,
        "changes": changes,
    }


def _git_note(receipt: dict) -> str | None:
    """What the page says when a run has no git state: what is true of it."""
    env = receipt.get("environment")
    if env and "git" in env:
        return "not in a git repository"  # captured, and there was none
    if (receipt.get("kind") or "run") in ("sweep", "pipeline"):
        return None  # recorded by each of its runs
    if not env and receipt.get("status") not in ("succeeded", None):
        return ("git and environment not recorded: the run ended before it wrote its"
                " receipt")
    return "git not recorded"


def _steps(receipt: dict) -> list[dict[str, Any]]:
    steps = ((receipt.get("pipeline") or {}).get("steps")) or {}
    return [{"name": name, "status": step.get("status"), "run_id": step.get("run_id"),
             "message": step.get("message") or "", "upstream": step.get("upstream") or []}
            for name, step in steps.items()]


def _data(entry: dict) -> dict[str, Any]:
    profile = entry.get("profile") or {}
    shape = None
    if profile.get("rows") is not None and profile.get("columns") is not None:
        shape = f"{profile['rows']} rows × {len(profile['columns'])} columns"
    return {"path": entry.get("path"), "role": entry.get("role"),
            "hash": short_hash(entry.get("hash")), "bytes": entry.get("bytes"),
            "shape": shape, "changed_during_run": bool(entry.get("changed_during_run")),
            "error": entry.get("error")}


def show(value: Any) -> str:
    """A value as a reader wants it: numbers rounded to 6 significant digits, else JSON."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def short_hash(digest: str | None) -> str:
    return (digest or "-").removeprefix("blake3:")[:12]


def _when(stamp: str | None) -> str:
    return (stamp or "-").replace("T", " ")[:19]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
