"""``[tool.nbprod.export]`` and the file layout it gives one notebook (paths, import names)."""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ConfigError, PathError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["ExportConfig", "Layout", "resolve_layout", "module_name_for"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ExportConfig:
    """Settings of ``[tool.nbprod.export]``; every path is relative to the project root.

    ``package`` is the folder the module goes in (default: ``src/<name>`` when that folder
    exists, else ``<name>``, where ``<name>`` is ``[project].name`` as an identifier; with no
    project name, the project root itself). ``module`` defaults to nbdev's ``#| default_exp``,
    else the notebook's file name. ``pipeline_module`` defaults to ``<module>_pipeline``.
    ``out_dir`` is prepended to every generated path (``--out``). ``strict`` refuses the
    export at the first tagged cell that cannot be exported, instead of leaving it out.
    """

    package: str | None = None
    module: str | None = None
    tests_dir: str = "tests"
    pipeline_module: str | None = None
    out_dir: str = "."
    exporters: tuple[str, ...] = ("module", "tests", "steps", "service")
    strict: bool = False  # refuse a cell that cannot be exported instead of leaving it out


@dataclass(frozen=True)
class Layout:
    """Where one notebook's generated files go and how they import each other."""

    root: Path
    notebook: str  # the notebook path shown in headers: relative to root, POSIX separators
    module: str  # the module's own name ("train")
    module_import: str  # dotted import path ("mypkg.train")
    module_path: PurePosixPath
    tests_path: PurePosixPath
    pipeline_import: str
    pipeline_path: PurePosixPath
    pipeline_json_path: PurePosixPath
    config: ExportConfig
    service_path: PurePosixPath | None = None  # the FastAPI app of the serve cell
    inputs: str | None = None  # the export fingerprint, recorded in generated headers


def module_name_for(notebook_name: str) -> str:
    """A valid module name from a notebook's file name: ``01-Data Prep`` -> ``data_prep``."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", notebook_name).strip("_").lower()
    slug = re.sub(r"^[0-9_]+", "", slug) or "notebook"
    return slug + "_" if keyword.iskeyword(slug) else slug


def resolve_layout(nb_path: Path | None, default_exp: str | None, config: ExportConfig,
                   root: Path) -> Layout:
    """Work out the generated files' paths and import names for one notebook.

    Parameters
    ----------
    nb_path:
        The notebook file (None for an in-memory notebook, named "notebook").
    default_exp:
        nbdev's ``#| default_exp`` value, if the notebook has one.
    config:
        The export settings, CLI overrides applied.
    root:
        The project root (the folder of the nearest pyproject.toml, or the notebook's folder).

    Raises
    ------
    ConfigError
        When a configured name is not a valid Python module name.
    PathError
        When a configured path is absolute or climbs out of the project with ``..``.
    """
    name = config.module or default_exp or module_name_for(nb_path.stem if nb_path else "notebook")
    _check_dotted(name, "module")
    package = config.package if config.package is not None else _default_package(root)
    package_path = _relative(package, "package")
    out = _relative(config.out_dir, "out-dir")
    tests = _relative(config.tests_dir, "tests-dir")
    parts = name.split(".")
    module_rel = package_path.joinpath(*parts[:-1], parts[-1] + ".py")
    import_base = _import_base(package_path)
    module_import = ".".join([*import_base, *parts])
    if not import_base and parts[0] in sys.stdlib_module_names:
        raise ConfigError(
            f"module name {parts[0]!r} would shadow the standard library module of that name;"
            " set module in [tool.nbprod.export] or add '#| default_exp NAME' to the notebook"
        )
    pipeline = config.pipeline_module or f"{parts[-1]}_pipeline"
    _check_dotted(pipeline, "pipeline-module")
    pipe_parts = pipeline.split(".")
    pipeline_rel = package_path.joinpath(*parts[:-1], *pipe_parts[:-1], pipe_parts[-1] + ".py")
    pipeline_import = ".".join([*import_base, *parts[:-1], *pipe_parts])
    if nb_path is None:
        shown = "notebook.ipynb"
    else:
        try:
            shown = nb_path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            shown = nb_path.name
    return Layout(
        root=root,
        notebook=shown,
        module=parts[-1],
        module_import=module_import,
        module_path=_under(out, module_rel),
        tests_path=_under(out, tests / f"test_{'_'.join(parts)}.py"),
        pipeline_import=pipeline_import,
        pipeline_path=_under(out, pipeline_rel),
        pipeline_json_path=_under(out, pipeline_rel.with_suffix(".json")),
        config=config,
        service_path=_under(out, package_path.joinpath(*parts[:-1], f"{parts[-1]}_service.py")),
    )


def _check_dotted(name: str, key: str) -> None:
    parts = name.split(".")
    for part in parts:
        if not _IDENTIFIER.fullmatch(part) or keyword.iskeyword(part):
            raise ConfigError(
                f"{key} {name!r} is not a valid Python module name; use letters, digits and"
                " underscores (dots between package levels)"
            )


def _relative(text: str, key: str) -> PurePosixPath:
    """A configured folder as a clean relative path; absolute paths and '..' are refused."""
    if text in ("", "."):
        return PurePosixPath()
    if "\x00" in text or text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text) \
            or "\\" in text:
        raise PathError(f"{key} {text!r} must be a path relative to the project root")
    path = PurePosixPath(text)
    if ".." in path.parts:
        raise PathError(f"{key} {text!r} climbs out of the project with '..'; refused")
    return PurePosixPath(*[p for p in path.parts if p != "."])


def _under(out: PurePosixPath, relative: PurePosixPath) -> PurePosixPath:
    return out / relative if out.parts else relative


def _import_base(package_path: PurePosixPath) -> list[str]:
    """The dotted import prefix of a package folder: ``src/mypkg`` -> ``["mypkg"]``."""
    parts = list(package_path.parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    for part in parts:
        _check_dotted(part, "package")
    return parts


def _default_package(root: Path) -> str:
    """``[project].name`` as an identifier (under ``src/`` if that folder exists), else ''."""
    pyproject = root / "pyproject.toml"
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return ""
    project = document.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name.strip():
        return ""
    package = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).lower().strip("_")
    if not package or not _IDENTIFIER.fullmatch(package) or keyword.iskeyword(package):
        return ""
    return f"src/{package}" if (root / "src" / package).is_dir() else package
