"""``nbprod init``: the starter files of a project, planned first, then written atomically.

The files come from the Jinja templates of ``templates/init/`` (``nbprod.template_paths``).
Planning is pure and checks everything before anything is written, so a refused ``init`` leaves
the folder untouched. Existing files are never overwritten without ``force``; pyproject.toml and
.gitignore are extended rather than replaced, and a file that already holds exactly what ``init``
would write is left alone, so running ``init`` twice is harmless.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import ConfigError, PathError
from .fsutil import atomic_write
from .template_paths import template_dir
from .version import __version__

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["CI_FILES", "GITLAB_INCLUDE", "STARTER_NOTEBOOK", "PlannedFile", "enclosing_project",
           "missing_gitlab_include", "plan_init", "render_template", "write_init"]

NOTEBOOKS_DIR = "notebooks"
NOTEBOOK_NAME = "analysis.ipynb"
STARTER_NOTEBOOK = f"{NOTEBOOKS_DIR}/{NOTEBOOK_NAME}"
TESTS_DIR = "tests"

# The CI file of each service init writes for (``--ci``): destination, template.
CI_FILES = {
    "github": (".github/workflows/nbprod.yml", "workflow.yml.j2"),
    "gitlab": (".gitlab/nbprod-ci.yml", "gitlab-ci.yml.j2"),
}
#: GitLab reads one file, ``.gitlab-ci.yml``; nbprod's jobs live in their own and are included.
GITLAB_INCLUDE = f"include:\n  - local: {CI_FILES['gitlab'][0]}\n"
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]\s]+(?:\s*\.\s*[^\]\s]+)*)\s*\]\]?\s*(?:#.*)?$")


@dataclass(frozen=True)
class PlannedFile:
    """One file ``init`` will touch: where, its full new text, and what happens to it."""

    path: PurePosixPath  # relative to the project folder
    text: str
    action: str  # "create" | "append" | "replace" | "unchanged"


def render_template(name: str, **values: object) -> str:
    """Render ``templates/init/<name>`` with ``values`` (unknown variables are errors)."""
    import jinja2

    source = (template_dir("init") / name).read_text(encoding="utf-8")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    return env.from_string(source).render(**values)


#: How CI checks that the exported files are up to date when the project's notebooks may be
#: anywhere: ``nbprod export`` takes files, and git lists the notebooks committed.
EXPORT_CHECK_ALL = "git ls-files -z -- '*.ipynb' | xargs -0 -r nbprod export --check"


def _install_lines() -> list[str]:
    """The shell lines with which a CI job installs the project's declared requirements (the
    packages its notebooks import, which lint's NB208 looks for): ``requirements.txt`` and
    the ``[project]`` dependencies of ``pyproject.toml``, whichever the project has when the
    job runs, so that the workflow does not depend on what the project holds at ``init``."""
    # Before Python 3.11, tomli (a dependency of nbprod there) reads TOML.
    toml = "tomllib" if sys.version_info >= (3, 11) else "tomli as tomllib"
    dependencies = (f"import {toml}; print(*tomllib.load(open('pyproject.toml', 'rb'))"
                    ".get('project', {}).get('dependencies', []), sep='\\n')")
    return [
        "if [ -f requirements.txt ]; then pip install -r requirements.txt; fi",
        f'if [ -f pyproject.toml ]; then python -c "{dependencies}" | pip install -r /dev/stdin;'
        " fi",
    ]


def _values(starter: bool) -> dict:
    """The template values: for a new project (``starter``), the starter notebook in
    ``notebooks/`` is what CI checks; for a project with notebooks of its own, the whole
    project is."""
    return {
        "install_lines": _install_lines(),
        "nbprod_version": __version__,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "starter": starter,
        "notebooks_dir": NOTEBOOKS_DIR if starter else ".",
        "notebook_name": NOTEBOOK_NAME,
        "export_check": (f"nbprod export --check {NOTEBOOKS_DIR}/*.ipynb" if starter
                         else EXPORT_CHECK_ALL),
        "tests_dir": TESTS_DIR,
    }


def plan_init(root: Path, *, force: bool = False, ci: str = "github",
              has_notebooks: bool = False) -> list[PlannedFile]:
    """Decide what ``nbprod init`` writes in ``root``; nothing is written here.

    Parameters
    ----------
    root:
        The project folder (it may not exist yet).
    force:
        Replace existing files and an existing ``[tool.nbprod]`` section.
    ci:
        The CI service to write jobs for, a key of ``CI_FILES``.
    has_notebooks:
        Whether the project has notebooks of its own (besides the starter notebook of an
        earlier ``init``). Then no starter notebook is written, and the CI jobs lint, test
        and check the exports of every notebook of the project rather than ``notebooks/``.

    Returns
    -------
    list[PlannedFile]
        Every file, including those already up to date (``action == "unchanged"``).

    Raises
    ------
    PathError
        When files exist with other content (or pyproject.toml already has ``[tool.nbprod]``)
        and ``force`` is not set; the message names every such file. When ``root`` lies
        inside another project (``enclosing_project``), whatever ``force`` says.
    ConfigError
        When the existing pyproject.toml is not valid TOML.
    """
    values = _values(starter=not has_notebooks)
    # What an earlier init wrote when the project had (or had not) notebooks of its own: a
    # notebook added since changes what init would write, not what it wrote.
    other = _values(starter=has_notebooks)
    if root.exists() and not root.is_dir():
        raise PathError(f"{root}: is a file; give the project folder")
    _refuse_nested(root)
    planned: list[PlannedFile] = []
    conflicts: list[str] = []
    ci_file, ci_template = CI_FILES[ci]
    owned = {  # destination -> template, for the files init owns outright
        ci_file: ci_template,
        ".pre-commit-config.yaml": "pre-commit-config.yaml.j2",
    }
    if not has_notebooks:
        owned = {STARTER_NOTEBOOK: "analysis.ipynb.j2", **owned}
    for relative, template in owned.items():
        text = render_template(template, **values)
        target = root / relative
        if not target.exists():
            planned.append(PlannedFile(PurePosixPath(relative), text, "create"))
        elif (current := _read(target)) in (text, render_template(template, **other)):
            planned.append(PlannedFile(PurePosixPath(relative), current, "unchanged"))
        else:
            conflicts.append(relative)
            planned.append(PlannedFile(PurePosixPath(relative), text, "replace"))
    section = render_template("pyproject.toml.j2", **values)
    pyproject = _plan_pyproject(root / "pyproject.toml", section, force,
                                earlier=render_template("pyproject.toml.j2", **other))
    if pyproject.action == "replace":
        conflicts.append("pyproject.toml ([tool.nbprod] exists)")
    planned.append(pyproject)
    planned.append(_plan_gitignore(root / ".gitignore", render_template("gitignore.j2", **values)))
    if ci == "gitlab":
        planned.append(_plan_gitlab_ci(root / ".gitlab-ci.yml"))
    if conflicts and not force:
        subject = "it exists" if len(conflicts) == 1 else "they exist"
        raise PathError(
            f"{root}: refusing to overwrite {', '.join(conflicts)}: {subject} with other"
            " content; pass --force to replace"
        )
    return planned


def enclosing_project(root: Path) -> tuple[Path, str] | None:
    """The project ``root`` lies inside, and why it is one, or None: the nearest folder above
    ``root`` whose pyproject.toml has a ``[tool.nbprod]`` section, or the top of the git work
    tree ``root`` is in (CI services read their files there only). The search stops at
    ``NBPROD_CEILING_DIRECTORIES``, as the configuration's does, and at a git work tree's
    top: a repository of its own is a project of its own."""
    from .gitignore import git_work_tree

    here = _absolute(root)
    top = git_work_tree(str(here))
    top_path = Path(top) if top is not None else None
    ceilings = {_absolute(Path(p)) for p in
                os.environ.get("NBPROD_CEILING_DIRECTORIES", "").split(os.pathsep) if p}
    if here in ceilings or here == top_path:
        return None
    for folder in here.parents:
        if _has_nbprod_section(folder / "pyproject.toml"):
            return folder, "nbprod project"
        if folder == top_path:
            return folder, "git work tree"
        if folder in ceilings:
            break
    return None


def _refuse_nested(root: Path) -> None:
    found = enclosing_project(root)
    if found is None:
        return
    folder, kind = found
    where = ("its pyproject.toml has [tool.nbprod]" if kind == "nbprod project"
             else "CI services read their files at the top of a repository only")
    raise PathError(
        f"{root}: is inside the {kind} at {folder} ({where}); run nbprod init there"
        f" (cd {folder} && nbprod init) rather than in a folder of it"
    )


def _absolute(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return Path(os.path.abspath(path))


def _has_nbprod_section(pyproject: Path) -> bool:
    try:
        data = pyproject.read_bytes()
    except OSError:
        return False
    if b"nbprod" not in data:
        return False
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return b"[tool.nbprod" in data
    tool = document.get("tool")
    return isinstance(tool, dict) and "nbprod" in tool


def write_init(root: Path, planned: list[PlannedFile]) -> list[PlannedFile]:
    """Write the planned files atomically; returns those that changed."""
    changed = [p for p in planned if p.action != "unchanged"]
    for item in changed:
        atomic_write(root / item.path, item.text)
    return changed


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PathError(f"{path}: cannot read: {exc}") from None


def _plan_pyproject(path: Path, section: str, force: bool, earlier: str = "") -> PlannedFile:
    """Append the ``[tool.nbprod]`` section, or (with ``force``) replace the existing one;
    the file is unchanged when it holds ``section`` or ``earlier`` (the other form init
    writes) as it was written."""
    relative = PurePosixPath("pyproject.toml")
    if not path.exists():
        return PlannedFile(relative, section, "create")
    text = _read(path)
    document = _parse_toml(text, path)
    if "nbprod" not in document.get("tool", {}):
        joined = text if not text or text.endswith("\n") else text + "\n"
        separator = "\n" if joined.strip() else ""
        return PlannedFile(relative, joined + separator + section, "append")
    if section in text or (earlier and earlier in text):
        return PlannedFile(relative, text, "unchanged")
    if not force:
        return PlannedFile(relative, text, "replace")
    return PlannedFile(relative, _replace_section(text, section, path, document), "replace")


def _replace_section(text: str, section: str, path: Path, document: dict) -> str:
    """``text`` with its ``[tool.nbprod...]`` tables swapped for ``section``, all else kept."""
    kept: list[str] = []
    insert_at: int | None = None
    inside = False
    for line in text.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header:
            name = re.sub(r"\s+", "", header.group(1)).replace('"', "")
            inside = name == "tool.nbprod" or name.startswith("tool.nbprod.")
            if inside and insert_at is None:
                insert_at = len(kept)
        if not inside:
            kept.append(line)
    if insert_at is None:
        insert_at = len(kept)
    before = "".join(kept[:insert_at])
    after = "".join(kept[insert_at:])
    if before and not before.endswith("\n"):
        before += "\n"
    result = before + section + ("\n" + after if after.strip() else "")
    # The edit is textual; make sure it kept every other table and left no nbprod key behind.
    new_document = _parse_toml(result, path)
    expected = _parse_toml(section, path)["tool"]["nbprod"]
    if _without_nbprod(document) != _without_nbprod(new_document) or (
        new_document.get("tool", {}).get("nbprod") != expected
    ):
        raise ConfigError(
            f"{path}: cannot replace [tool.nbprod] automatically (it is written inline or"
            " split oddly); delete it by hand and run nbprod init again"
        )
    return result


def _without_nbprod(document: dict) -> dict:
    tool = {key: value for key, value in document.get("tool", {}).items() if key != "nbprod"}
    return {**document, "tool": tool}


def _plan_gitignore(path: Path, entries: str) -> PlannedFile:
    """Append the entries that are missing; never reorder or drop the user's lines."""
    relative = PurePosixPath(".gitignore")
    text = _read(path) if path.exists() else ""
    present = {line.strip().lstrip("/").rstrip("/") for line in text.splitlines()}
    missing = [
        line
        for line in entries.splitlines()
        if line.strip() and not line.startswith("#") and line.strip().rstrip("/") not in present
    ]
    if not missing:
        return PlannedFile(relative, text, "unchanged")
    comment = [line for line in entries.splitlines() if line.startswith("#")]
    block = "\n".join(comment + missing) + "\n"
    if not text:
        return PlannedFile(relative, block, "create")
    joined = text if text.endswith("\n") else text + "\n"
    return PlannedFile(relative, joined + "\n" + block, "append")


def _plan_gitlab_ci(path: Path) -> PlannedFile:
    """A ``.gitlab-ci.yml`` that includes nbprod's jobs, when the project has none. An
    existing one is the project's: it is never edited (``nbprod init`` says what line to
    add), since YAML cannot be merged into it without losing its comments and layout."""
    relative = PurePosixPath(".gitlab-ci.yml")
    if not path.exists():
        return PlannedFile(relative, "# Generated by `nbprod init --ci gitlab`.\n"
                           + GITLAB_INCLUDE, "create")
    return PlannedFile(relative, _read(path), "unchanged")


def missing_gitlab_include(planned: list[PlannedFile]) -> bool:
    """Whether the planned ``.gitlab-ci.yml`` (the project's own, which init never edits)
    does not name nbprod's jobs file, so GitLab would not run them."""
    return any(item.path == PurePosixPath(".gitlab-ci.yml")
               and CI_FILES["gitlab"][0] not in item.text for item in planned)


def _parse_toml(text: str, path: Path) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML ({exc}); fix it before running nbprod init"
        ) from None
