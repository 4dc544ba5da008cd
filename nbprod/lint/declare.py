"""Declaring packages in a project: the edit behind NB203's fix, which moves a notebook's
`pip install` into the project's requirements.txt or pyproject.toml.

Each function takes a declaration file's text and returns it with the packages added, or
None when that cannot be done safely. A pyproject.toml is edited as text, so that its
comments and layout stay as they are, then parsed again: the edit counts only when the
parsed result is the old one with exactly the new requirements added to
``[project] dependencies``.
"""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["add_to_pyproject", "add_to_requirements_txt", "normalise", "requirement_name"]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PROJECT_TABLE = re.compile(r"^\[project\][ \t]*(#.*)?$", re.M)
_DEPENDENCIES_KEY = re.compile(r"^dependencies[ \t]*=[ \t]*\[", re.M)
_ANY_TABLE = re.compile(r"^[ \t]*\[", re.M)


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """The normalised distribution name a requirement names (``Scikit_Learn>=1`` ->
    ``scikit-learn``)."""
    match = _NAME.match(spec)
    return normalise(match.group(1) if match else spec)


def add_to_requirements_txt(text: str, specs: list[str]) -> str:
    """``text`` with one line per spec appended (after a final newline if it lacked one)."""
    if not specs:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "".join(f"{spec}\n" for spec in specs)


def add_to_pyproject(text: str, specs: list[str]) -> str | None:
    """``text`` with ``specs`` first in ``[project] dependencies``; None when the file has
    no such array written in a way this edit understands (inline table, dotted keys...)."""
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    project = before.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("dependencies"), list):
        return None
    if not specs:
        return text
    table = _PROJECT_TABLE.search(text)
    key = _DEPENDENCIES_KEY.search(text, table.end()) if table else None
    if key is None or _ANY_TABLE.search(text, table.end(), key.start()):
        return None
    opening = key.end()
    rest = text[opening:]
    if rest.lstrip(" \t").startswith("]"):
        inserted = ", ".join(_quoted(s) for s in specs)
    elif rest.startswith(("\n", "\r\n")):
        newline = "\r\n" if rest.startswith("\r\n") else "\n"
        indent = re.match(r"[ \t]*", rest[len(newline):]).group(0) or "    "
        inserted = "".join(f"{newline}{indent}{_quoted(s)}," for s in specs)
    else:
        inserted = "".join(f"{_quoted(s)}, " for s in specs)
    edited = text[:opening] + inserted + rest
    try:
        after = tomllib.loads(edited)
    except tomllib.TOMLDecodeError:
        return None
    dependencies = [*specs, *project["dependencies"]]
    expected = {**before, "project": {**project, "dependencies": dependencies}}
    return edited if after == expected else None


def _quoted(spec: str) -> str:
    return '"' + spec.replace("\\", "\\\\").replace('"', '\\"') + '"'
