"""Project configuration: ``[tool.nbprod]`` in the nearest pyproject.toml.

The file is found by walking up from the target (stopping at ``NBPROD_CEILING_DIRECTORIES``,
so tests stay hermetic). Each feature owns a frozen dataclass for its own table
(``[tool.nbprod.lint]`` -> ``nbprod.lint.checker.LintConfig`` ...) and builds it with
``ProjectConfig.section``; unknown keys are refused with a did-you-mean, never ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["ProjectConfig", "build_section", "find_pyproject", "load_project_config", "suggest"]

#: The tables nbprod knows under ``[tool.nbprod]``.
SECTIONS = ("lint", "export", "run", "store", "pipeline", "sweep", "test")

T = TypeVar("T")


@dataclass(frozen=True)
class ProjectConfig:
    """The ``[tool.nbprod]`` table of one project, and where it came from."""

    root: Path
    pyproject: Path | None = None
    data: dict = field(default_factory=dict)

    def section(self, name: str, cls: type[T], **overrides: Any) -> T:
        """Build ``cls`` from ``[tool.nbprod.<name>]``; ``overrides`` (CLI flags) win."""
        where = f"{self.pyproject or 'pyproject.toml'} [tool.nbprod.{name}]"
        table = dict(self.data.get(name, {}))
        table.update({k: v for k, v in overrides.items() if v is not None})
        return build_section(cls, table, where)


def suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """A " (did you mean 'x'?)" suffix for an unknown name, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def build_section(cls: type[T], table: dict, where: str) -> T:
    """Turn a TOML table into the frozen dataclass ``cls``; kebab-case keys are accepted."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        attr = key.replace("-", "_")
        if attr not in fields:
            known = [f.replace("_", "-") for f in fields]
            raise ConfigError(
                f"{where}: unknown key {key!r}{suggest(key.replace('_', '-'), known)};"
                f" known keys: {', '.join(sorted(known))}"
            )
        kwargs[attr] = _check_type(value, fields[attr], key, where)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_type(value: Any, fld: dataclasses.Field, key: str, where: str) -> Any:
    expected = fld.type if isinstance(fld.type, str) else getattr(fld.type, "__name__", "")
    checks = {
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    }
    base = expected.split("|")[0].strip()
    if base.startswith("tuple"):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {key!r} must be a list, got {type(value).__name__}")
        if base.startswith("tuple[str") and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: {key!r} must be a list of strings, got {value!r}")
        return tuple(value)
    if base.startswith("dict") and not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be a table, got {type(value).__name__}")
    check = checks.get(base)
    if check and not check(value) and not (value is None and "None" in expected):
        raise ConfigError(f"{where}: {key!r} must be {base}, got {value!r}")
    return value


def _resolve(path: str | os.PathLike) -> Path:
    """``path`` made absolute with symlinks resolved; a symlink loop (which ``resolve`` raises
    on) is kept as given, for the notebook loader to report in its own words."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def find_pyproject(start: str | os.PathLike) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a ``[tool.nbprod]`` table,
    else the nearest pyproject.toml at all, else None."""
    here = _resolve(start)
    if here.is_file() or not here.exists():
        here = here.parent
    ceilings = {
        Path(p).resolve()
        for p in os.environ.get("NBPROD_CEILING_DIRECTORIES", "").split(os.pathsep)
        if p
    }
    nearest: Path | None = None
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            if nearest is None:
                nearest = candidate
            if b"[tool.nbprod" in candidate.read_bytes():
                return candidate
        if folder in ceilings:
            break
    return nearest


def load_project_config(start: str | os.PathLike = ".") -> ProjectConfig:
    """Read ``[tool.nbprod]`` for the project containing ``start``.

    Raises
    ------
    ConfigError
        When the pyproject.toml is not valid TOML or has unknown nbprod tables.
    """
    pyproject = find_pyproject(start)
    if pyproject is None:
        start_path = _resolve(start)
        root = start_path.parent if start_path.is_file() else start_path
        return ProjectConfig(root=root)
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    data = document.get("tool", {}).get("nbprod", {})
    if not isinstance(data, dict):
        raise ConfigError(f"{pyproject}: [tool.nbprod] must be a table")
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(
                f"{pyproject}: unknown table [tool.nbprod.{key}]{suggest(key, SECTIONS)};"
                f" known: {', '.join(SECTIONS)}"
            )
        if not isinstance(data[key], dict):
            raise ConfigError(f"{pyproject}: [tool.nbprod.{key}] must be a table")
    return ProjectConfig(root=pyproject.parent, pyproject=pyproject, data=data)
