"""NB2xx: what stops a notebook from running on another machine or in CI."""

from __future__ import annotations

import ast
import functools
import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from ...analysis import CellAnalysis, Magic
from ..declare import (
    add_to_pyproject,
    add_to_requirements_txt,
    normalise,
    requirement_name,
)
from ..installed import module_distributions
from ..installed import prepare as prepare_installed
from ..probe import FileProbe
from ..rule import Applicability, LintContext, Rule, Severity
from ._helpers import (
    cell_calls,
    keyword,
    magic_span,
    nodes_of,
    span,
    string_constants,
    unreached_calls,
)
from .secrets import quoted

try:  # pragma: no cover - depends on the Python version
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["RULES", "declared_distributions", "import_distributions"]

# Top folders that only exist on one person's machine (or one cloud notebook service).
_MACHINE_ROOTS = (
    "home", "Users", "mnt", "media", "data", "datasets", "opt", "srv", "root", "scratch",
    "gpfs", "content", "kaggle", "workspace", "Volumes", "net", "nfs", "dbfs", "lustre",
    "projects", "shared", "work", "storage",
)
_UNIX_ABS_RE = re.compile(rf"^/(?:{'|'.join(_MACHINE_ROOTS)})/[^\s]+$")
_WINDOWS_ABS_RE = re.compile(r"^[A-Za-z]:[\\/][^\n]*$")
_HOME_RE = re.compile(r"^~[\\/][^\n]*$")


def _literal_paths(ctx: LintContext, pattern: re.Pattern[str]):
    for cell, result, node in _path_like(ctx):
        if pattern.match(node.value):
            yield cell, result, node


def _path_like(ctx: LintContext):
    """String literals that may be absolute or home paths (``/...``, ``~...``, ``X:...``),
    once per notebook: the three path rules then match few strings."""

    def build():
        return [
            (cell, result, node)
            for cell, result in ctx.python_cells
            for node in string_constants(ctx, result)
            if len(node.value) < 300
            and (node.value.startswith(("/", "~")) or node.value[1:2] == ":")
        ]

    return ctx.memo("path_like_literals", build)


class AbsolutePath(Rule):
    """## What it does
    Checks for string literals holding absolute paths into one machine's file system:
    `/home/...`, `/Users/...`, `/mnt/...`, `/content/drive/...`, `C:\\...`.

    ## Why is this bad?
    The path exists on the author's machine only. On a colleague's laptop, in CI or in a
    container the notebook fails, or worse, reads a different file.

    ## Example
    ```python
    df = pd.read_csv("/home/ana/projects/churn/data/train.csv")
    ```

    ## Use instead
    A path relative to the notebook (Jupyter runs it from the notebook's folder), or a
    parameter:
    ```python
    df = pd.read_csv("data/train.csv")
    ```
    """

    code = "NB201"
    name = "absolute-path"

    def check(self, ctx):
        for pattern in (_UNIX_ABS_RE, _WINDOWS_ABS_RE):
            for cell, result, node in _literal_paths(ctx, pattern):
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"Absolute path {_short(node.value)!r} only exists on one machine; use a"
                    " path relative to the notebook or a parameter",
                    **span(result, node).kwargs(),
                )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class HomeDirectoryPath(Rule):
    """## What it does
    Checks for string literals starting with `~/`, the user's home folder.

    ## Why is this bad?
    Everybody's home folder holds different files; CI runners and containers have none of
    yours.

    ## Example
    ```python
    model = joblib.load(os.path.expanduser("~/models/churn.joblib"))
    ```

    ## Use instead
    A path inside the project, or a parameter:
    ```python
    model_path: str = "models/churn.joblib"
    ```
    """

    code = "NB202"
    name = "home-directory-path"

    def check(self, ctx):
        for cell, result, node in _literal_paths(ctx, _HOME_RE):
            yield self.diagnostic(
                ctx,
                cell,
                f"Path {_short(node.value)!r} is inside the user's home folder; use a path"
                " inside the project or a parameter",
                **span(result, node).kwargs(),
            )


_INSTALLERS = {"pip", "pip3", "conda", "mamba", "micromamba", "uv", "poetry"}
_SHELL_CELLS = {"bash", "sh", "script", "system"}


def _is_install(magic) -> bool:
    words = magic.text.replace("%", " ").replace("!", " ").split()
    if magic.name not in _INSTALLERS and not {"pip", "conda"} & set(words[:4]):
        return False
    return "install" in words or "add" in words[:3]


# Options of `pip install` that change nothing about what gets installed.
_HARMLESS_PIP_OPTIONS = {
    "-q", "-qq", "-qqq", "--quiet", "-U", "--upgrade", "--user", "--no-cache-dir", "--pre",
    "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
    "--progress-bar=off",
}
_PIP_COMMANDS = (["pip"], ["pip3"], ["python", "-m", "pip"], ["python3", "-m", "pip"])
_REQUIREMENT_SPEC = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]*\])?"
    r"((===?|~=|!=|<=?|>=?)[A-Za-z0-9.*+!_-]+(,(===?|~=|!=|<=?|>=?)[A-Za-z0-9.*+!_-]+)*)?"
)


def _harmless_pip_option(word: str) -> bool:
    """Whether ``word`` is options of `pip install` that change nothing about what gets
    installed; combined short flags (`-Uqq`) count as the flags they combine."""
    if word in _HARMLESS_PIP_OPTIONS:
        return True
    return (len(word) > 2 and word[0] == "-" and word[1:].isalpha()
            and all(f"-{flag}" in _HARMLESS_PIP_OPTIONS for flag in word[1:]))


def movable_requirements(line: str) -> list[str] | None:
    """The requirements a plain `pip install` line installs (`!pip install -Uq xgboost
    "pandas>=2"` gives `["xgboost", "pandas>=2"]`); None when the line does more than that
    (another installer, other options, files, URLs, variables, several commands)."""
    try:
        words = shlex.split(line.strip().lstrip("%!"))
    except ValueError:
        return None
    for command in _PIP_COMMANDS:
        if words[: len(command) + 1] == [*command, "install"]:
            arguments = words[len(command) + 1:]
            break
    else:
        return None
    specs = [w for w in arguments if not _harmless_pip_option(w)]
    if not specs or not all(_REQUIREMENT_SPEC.fullmatch(w) for w in specs):
        return None
    return specs


def declaration_file(ctx: LintContext, specs: list[str]) -> tuple[Path, str | None] | None:
    """Where NB203's fix declares ``specs``, and that file's text with them declared (None
    when they all are already); see ``declaration_target``. None when the notebook has no
    folder."""
    if ctx.nb.path is None:
        return None
    folders = list(dict.fromkeys(f for f in (ctx.project_root, ctx.nb.path.parent) if f))

    def read(path: Path) -> str | None:
        if path in ctx.edits:
            return ctx.edits[path]
        return ctx.files.read_text(path) if ctx.files.is_file(path) else None

    return declaration_target(folders, specs, read)


def declaration_target(folders: list[Path], specs: list[str],
                       read: Callable[[Path], str | None]) -> tuple[Path, str | None] | None:
    """The file that declares ``specs`` and its new text (None when all are declared): the
    requirements.txt of the first of ``folders`` (the project root, then the notebook's) that
    has one, else a pyproject.toml there with a ``[project] dependencies`` array, else a new
    requirements.txt in the first folder. ``read`` gives a file's text (None: no such file).
    None when the file found cannot be read or edited safely. Used by NB203's fix and by
    ``nbprod export``."""
    candidates = [f / "requirements.txt" for f in folders] + [f / "pyproject.toml" for f in folders]
    for candidate in candidates:
        try:
            text = read(candidate)
        except (OSError, UnicodeDecodeError):
            return None
        if text is None:
            continue
        pyproject = candidate.name == "pyproject.toml"
        declared = (_names_from_pyproject if pyproject else _names_from_requirements)(text)
        missing = [s for s in specs if requirement_name(s) not in declared]
        edited = add_to_pyproject(text, missing) if pyproject else add_to_requirements_txt(
            text, missing
        )
        if edited is None:
            continue  # a pyproject.toml without a dependencies array: try the next place
        return candidate, edited if missing else None
    new = folders[0] / "requirements.txt"
    return new, add_to_requirements_txt(read(new) or "", specs)


class InstallInNotebook(Rule):
    """## What it does
    Checks for package installs inside the notebook: `!pip install`, `%pip install`,
    `%conda install`, `pip install` as an automagic.

    ## Why is this bad?
    The notebook changes its own environment while it runs: versions are unpinned, the
    kernel may need a restart to see them, runs in CI reinstall every time, and the
    project's declared dependencies (requirements.txt, pyproject.toml) stay incomplete.

    ## Example
    ```python
    !pip install xgboost
    import xgboost
    ```

    ## Use instead
    Declare the package (`xgboost==2.0.3` in requirements.txt or pyproject.toml) and
    install the environment before starting Jupyter.

    ## Fix safety
    A plain `pip install` of named packages (its only options being ones that change
    nothing about what is installed: `-q`, `-U`, `--user`..., combined as in `-Uqq` or
    not) is moved: the packages not yet declared are added to the project's
    requirements.txt (at the project root, else beside the notebook), else to `[project]
    dependencies` in its pyproject.toml (an edit checked by parsing the file again); the
    line is commented out with a note saying where they went.
    This fix is safe: the project now declares what the notebook installed. When the
    project declares no dependencies at all, the fix creates a requirements.txt at the
    project root, and it is unsafe: a file listing only this notebook's installs would
    leave every other import of the project undeclared (NB207 then reports each one), so
    it is yours to decide. Any other install line at the top level of a cell (conda,
    files, URLs, index options, variables) can only be commented out, an unsafe fix,
    because a fresh environment no longer gets the package. Lines indented inside a block
    are left alone (commenting them out could leave an empty block).
    """

    code = "NB203"
    name = "install-in-notebook"
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        for cell, result in ctx.code_cells:
            if result.opaque and result.magics and result.magics[0].name in _SHELL_CELLS:
                yield from self._shell_cell(ctx, cell)
                continue
            for magic in result.magics:
                if magic.kind == "cell" or not _is_install(magic):
                    continue
                where = magic_span(cell, magic.line)
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"Package install in the notebook ({quoted(magic.text, 60)}); declare"
                    " the package in requirements.txt or pyproject.toml",
                    **where.kwargs(),
                    **self._fix_offer(ctx, magic, top_level=where.column == 1),
                )

    def _fix_offer(self, ctx, magic, *, top_level: bool) -> dict:
        """The fix title, applicability and data for one install line (none when indented)."""
        if not top_level:
            return {}
        specs = movable_requirements(magic.text)
        declaration = declaration_file(ctx, specs) if specs else None
        if declaration is None:
            return {"fix_title": "Comment out the install line",
                    "fix_applicability": Applicability.UNSAFE}
        target, text = declaration
        shown = os.path.relpath(target, ctx.nb.path.parent)
        names = ", ".join(f"`{s}`" for s in specs)
        data = {"requirements": specs, "shown": shown}
        if text is None:
            return {"fix_title": f"Comment out the install line ({shown} declares {names})",
                    "data": data}
        if target not in ctx.edits and not ctx.files.is_file(target):
            # The project declares no dependencies yet: a file listing only this notebook's
            # installs would leave every other import undeclared (NB207).
            return {"fix_title": f"Move {names} to a new {shown}",
                    "fix_applicability": Applicability.UNSAFE, "data": data}
        return {"fix_title": f"Move {names} to {shown}", "data": data}

    def _shell_cell(self, ctx, cell):
        """Install commands in a ``%%bash`` cell (reported, never fixed: it is not Python)."""
        for number, text in enumerate(cell.source.split("\n"), start=1):
            words = text.split()
            if words[:1] and words[0] in _INSTALLERS and _is_install(
                Magic(number, "shell", words[0], text)
            ):
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"Package install in the notebook ({quoted(text, 60)}); declare"
                    " the package in requirements.txt or pyproject.toml",
                    **magic_span(cell, number).kwargs(),
                )

    def fix(self, ctx, diagnostic):
        cell = ctx.nb.cells[diagnostic.cell - 1]
        lines = cell.source.split("\n")
        index = diagnostic.line - 1
        if not 0 <= index < len(lines) or lines[index].startswith("#"):
            return
        move = diagnostic.data.get("requirements")
        if move:
            # Computed again: an earlier fix of this run may have edited the same file.
            declaration = declaration_file(ctx, move)
            if declaration is None:
                return
            if declaration[1] is not None:
                ctx.edits[declaration[0]] = _in_notebook_order(ctx, *declaration)
            lines[index] = f"# moved to {diagnostic.data['shown']}: {lines[index]}"
        else:
            lines[index] = "# " + lines[index]
        cell.source = "\n".join(lines)


def _in_notebook_order(ctx: LintContext, path: Path, text: str) -> str:
    """``text``, a requirements.txt this fix appended to, with its additions put before
    those of the install lines below it. Fixes run from the bottom of the notebook up (so
    that an edit never moves the lines of the next one), and appending would list the
    packages in reverse; a pyproject.toml gets each one first already."""
    before = ctx.edits.get(path)
    if path.name != "requirements.txt" or before is None:
        return text
    original = ctx.files.read_text(path) if ctx.files.is_file(path) else ""
    if original and not original.endswith("\n"):
        original += "\n"
    if not before.startswith(original) or not text.startswith(before):
        return text
    return original + text[len(before):] + before[len(original):]


class ChangeDirectory(Rule):
    """## What it does
    Checks for changes of the working directory: `%cd`, `cd` (automagic), `os.chdir()`,
    where a top-to-bottom run executes them: `os.chdir()` at the top level of a cell
    (lambdas included), or in a function that the notebook calls (directly or through
    other functions, or passes on). A function that nothing in the notebook refers to
    never runs, and its `os.chdir()` is not reported (an nbdev command exported from the
    notebook, for instance).

    ## Why is this bad?
    Jupyter and papermill run a notebook from its own folder. After a `cd`, every relative
    path means something else, rerunning the cell moves again (`%cd ..` twice), and the
    outcome depends on where the previous run left the kernel.

    ## Example
    ```python
    %cd ../data
    df = pd.read_csv("train.csv")
    ```

    ## Use instead
    ```python
    df = pd.read_csv("../data/train.csv")
    ```
    """

    code = "NB204"
    name = "change-directory"

    def check(self, ctx):
        for cell, result in ctx.code_cells:
            for magic in result.magics:
                if magic.kind in ("line", "automagic") and magic.name in ("cd", "pushd"):
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"`{quoted(magic.text, 40)}` changes the working directory; use paths"
                        " relative to the notebook instead",
                        **magic_span(cell, magic.line).kwargs(),
                    )
            if result.tree is None:
                continue
            for call, name in cell_calls(ctx, cell, result):
                if name == "os.chdir" and id(call) not in unreached_calls(ctx):
                    yield self.diagnostic(
                        ctx,
                        cell,
                        "`os.chdir()` changes the working directory; use paths relative to the"
                        " notebook instead",
                        **span(result, call).kwargs(),
                    )


# Callables whose first argument names a file they read.
_READERS = {
    "open", "io.open", "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile",
    "matplotlib.pyplot.imread", "PIL.Image.open", "cv2.imread", "joblib.load",
    "h5py.File", "xarray.open_dataset", "scipy.io.loadmat", "torch.load",
}
_READER_MODULES = ("pandas.read_", "polars.read_", "geopandas.read_", "dask.dataframe.read_")
_PATH_KEYWORDS = ("filepath_or_buffer", "path", "fname", "file", "filename", "path_or_buf", "io")
LFS_HEADER = "version https://git-lfs.github.com/spec/"


def _read_path(call: ast.Call, name: str) -> ast.Constant | None:
    """The literal file name a reading call (``name`` qualified) opens, or None."""
    if not (name in _READERS or name.startswith(_READER_MODULES)):
        return None
    if name in ("open", "io.open", "h5py.File"):
        mode = call.args[1] if len(call.args) > 1 else getattr(keyword(call, "mode"), "value", None)
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
            if set(mode.value) & set("wax"):
                return None
    arg = call.args[0] if call.args else None
    if arg is None:
        arg = next((k.value for k in call.keywords if k.arg in _PATH_KEYWORDS), None)
    if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
        return None
    text = arg.value
    if (
        not text
        or "://" in text
        or text.startswith(("\\", "/dev/"))
        or re.match(r"^[A-Za-z]:", text)
        or any(c in text for c in "*?[{\n")
        or len(text) > 300
    ):
        return None
    return arg


# Shell commands that only read or list files: a `!head data/x.csv` line does not make the file.
_READ_ONLY_SHELL = re.compile(
    r"^\s*!\s*(head|tail|cat|less|more|wc|ls|file|du|stat|grep|nl|od|hexdump|md5sum"
    r"|sha1sum|sha256sum|shasum)\b[^>|]*$"
)


def _without_read_only_shell(text: str) -> str:
    """``text`` without the lines that create no file: shell lines that only read files,
    and comments (a download command commented out makes nothing)."""
    return "\n".join(
        line for line in text.split("\n")
        if not (_READ_ONLY_SHELL.match(line) or line.lstrip().startswith("#"))
    )


def _file_reads(ctx: LintContext):
    """(cell, result, literal, resolved path) for reads of relative files, in notebook order.

    Nothing is reported after the notebook changes directory, and files that an earlier
    cell writes or downloads (the name appears in an earlier cell, other than in a shell
    line that only reads it, such as `!head data/x.csv`) are not expected to exist.
    """
    if ctx.nb.path is None:
        return
    base = ctx.nb.path.parent
    seen_text: list[str] = []
    for cell, result in ctx.code_cells:
        if any(m.name in ("cd", "pushd") for m in result.magics):
            return
        if result.tree is None:
            seen_text.append(_without_read_only_shell(cell.source))
            continue
        for call, name in cell_calls(ctx, cell, result):
            if name == "os.chdir":
                return
            literal = _read_path(call, name)
            if literal is None:
                continue
            name = Path(literal.value).name
            lines = cell.source.split("\n")
            before = "\n".join(seen_text) + _without_read_only_shell(
                "\n".join(lines[: literal.lineno - 1])
            )
            if name and name in before:
                continue
            yield cell, result, literal, base / Path(literal.value).expanduser()
        seen_text.append(_without_read_only_shell(cell.source))


class MissingDataFile(Rule):
    """## What it does
    Checks that files the notebook reads by a literal path (`open("x")`,
    `pd.read_csv("data/x.csv")`, `np.load(...)`) exist: relative to the notebook's folder,
    or on this machine for an absolute path (NB201 says why those are fragile).
    Files whose name appears in an earlier cell (written or downloaded there) are not
    checked, nor anything after the notebook changes directory; a shell line that only
    reads the file (`!head data/x.csv`, `!wc -l data/x.csv`) or a comment (a download
    command commented out) does not count as making it.

    ## Why is this bad?
    The data is not in the repository: a fresh clone, CI and colleagues cannot run the
    notebook, and nothing records where the file came from.

    ## Example
    ```python
    df = pd.read_csv("data/raw/customers.csv")  # only on the author's disk
    ```

    ## Use instead
    Commit the file (Git LFS or DVC for large data), or download it in the notebook from
    a stable URL, or make the path a parameter.
    """

    code = "NB205"
    name = "missing-data-file"
    rerun_blocker = True

    def check(self, ctx):
        for cell, result, literal, path in _file_reads(ctx):
            if not ctx.files.exists(path):
                where = ("on this machine" if Path(literal.value).expanduser().is_absolute()
                         else "relative to the notebook")
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"File {_short(literal.value)!r} does not exist {where}; add it to the"
                    " repository or make the path a parameter",
                    **span(result, literal).kwargs(),
                )


def is_lfs_pointer(path: Path, files: FileProbe | None = None) -> bool:
    """True when ``path`` is a Git LFS pointer stub instead of the file's content."""
    files = files or FileProbe()
    try:
        head = files.head_of_small_file(path, 1024, len(LFS_HEADER))
    except OSError:
        return False
    return head == LFS_HEADER.encode()


class LfsPointerFile(Rule):
    """## What it does
    Checks for reads of files that are Git LFS pointer stubs (a small text file starting
    `version https://git-lfs.github.com/spec/v1`) instead of the data.

    ## Why is this bad?
    The clone was made without `git lfs pull`. `pd.read_csv` then "succeeds" on a
    three-line text file, or fails with a confusing parse error far from the cause.

    ## Example
    ```python
    df = pd.read_parquet("data/train.parquet")  # a 130-byte pointer file
    ```

    ## Use instead
    Run `git lfs install && git lfs pull` before running the notebook (in CI too).
    """

    code = "NB206"
    name = "lfs-pointer-file"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result, literal, path in _file_reads(ctx):
            if is_lfs_pointer(path, ctx.files):
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"File {_short(literal.value)!r} is a Git LFS pointer, not the data; run"
                    " `git lfs pull`",
                    **span(result, literal).kwargs(),
                )


# Import names whose distribution has another name, for packages that are not installed here.
IMPORT_ALIASES = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "attr": "attrs",
    "Crypto": "pycryptodome",
    "jwt": "pyjwt",
    "google": "google-api-core",
    "docx": "python-docx",
    "magic": "python-magic",
    "serial": "pyserial",
    "usb": "pyusb",
    "git": "gitpython",
    "OpenSSL": "pyopenssl",
    "jose": "python-jose",
    "mpl_toolkits": "matplotlib",
    "mpl_toolkits.basemap": "basemap",
    "pkg_resources": "setuptools",
    "IPython": "ipython",
    "tables": "tables",
    "Levenshtein": "python-levenshtein",
    "lightgbm": "lightgbm",
}
# Modules a Jupyter kernel always has, whatever the project declares.
KERNEL_PROVIDED = {"IPython", "ipykernel", "ipywidgets", "google.colab", "__future__"}


def import_distributions(module: str) -> set[str]:
    """Normalised names of the distributions that may provide top-level ``module``."""
    found = {normalise(d) for d in module_distributions().get(module, ())}
    found.add(normalise(IMPORT_ALIASES.get(module, module)))
    return found


_REQUIREMENT_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _names_from_requirements(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _REQUIREMENT_RE.match(line)
        if match:
            names.add(normalise(match.group(1)))
    return names


def _names_from_pyproject(text: str) -> set[str]:
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return set()
    specs: list[str] = []
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    specs += [s for s in project.get("dependencies", []) if isinstance(s, str)]
    for group in (project.get("optional-dependencies") or {}).values():
        specs += [s for s in group if isinstance(s, str)] if isinstance(group, list) else []
    for group in (data.get("dependency-groups") or {}).values():
        specs += [s for s in group if isinstance(s, str)] if isinstance(group, list) else []
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    specs += [k for k in (poetry.get("dependencies") or {}) if isinstance(k, str)]
    for group in (poetry.get("group") or {}).values():
        if isinstance(group, dict):
            specs += [k for k in (group.get("dependencies") or {}) if isinstance(k, str)]
    names = _names_from_requirements("\n".join(specs))
    if isinstance(project.get("name"), str):
        names.add(normalise(project["name"]))
    return names


def _names_from_environment(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        match = re.match(r"^\s*-\s+([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.add(normalise(match.group(1)))
    return names


def declared_distributions(
    folders: list[Path], files: FileProbe | None = None
) -> set[str] | None:
    """Normalised distribution names declared in the folders' requirements*.txt,
    pyproject.toml and environment.yml; None when no folder has any such file."""
    files = files or FileProbe()
    names: set[str] = set()
    found = False
    for folder in folders:
        candidates = [
            *files.glob(folder, "requirements*.txt"),
            folder / "pyproject.toml",
            folder / "environment.yml",
            folder / "environment.yaml",
        ]
        for path in candidates:
            try:
                if not files.is_file(path):
                    continue
                text = files.read_text(path)
            except (OSError, UnicodeDecodeError):
                continue
            found = True
            if path.suffix == ".txt":
                names |= _names_from_requirements(text)
            elif path.suffix == ".toml":
                names |= _names_from_pyproject(text)
            else:
                names |= _names_from_environment(text)
    return names if found else None


_GUARDED = (ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _top_level_imports(tree: ast.AST, everywhere: bool = False):
    """(module, node) for each absolute import, in source order. Unless ``everywhere``,
    only those that run unconditionally: imports inside a ``try`` (``except ImportError``
    fallbacks) or a function body are left out."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop(0)
        for child in ast.iter_child_nodes(node):
            if not everywhere and isinstance(child, _GUARDED):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield from _imported(child)
            else:
                stack.append(child)


def _imported(node: ast.Import | ast.ImportFrom) -> list[tuple[str, ast.AST]]:
    """(module, node) for what an import statement imports; relative imports give none."""
    if isinstance(node, ast.Import):
        return [(alias.name, node) for alias in node.names]
    return [(node.module, node)] if node.level == 0 and node.module else []


_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


def _cell_imports(ctx: LintContext, result: CellAnalysis, everywhere: bool):
    """``_top_level_imports`` of a cell, from the cell's import nodes when nothing guards
    any of them (the usual import cell: no ``try``, no function)."""
    imports = nodes_of(ctx, result, ast.Import, ast.ImportFrom)
    if not imports:
        return ()
    if not everywhere and nodes_of(ctx, result, *_GUARDED):
        return _top_level_imports(result.tree)
    return [found for node in imports for found in _imported(node)]


def _third_party(module: str, folders: list[Path], files: FileProbe) -> bool:
    top = module.split(".")[0]
    return not (top in _STDLIB or top in KERNEL_PROVIDED or module in KERNEL_PROVIDED
                or _is_local(top, folders, files))


def _local_module_imports(
    module: str, folders: list[Path], files: FileProbe, seen: set[str] | None = None
) -> list[str]:
    """Third-party modules that the local module ``module`` (``stocker.py`` beside the
    notebook) imports, following the local modules it imports in turn."""
    seen = seen if seen is not None else set()
    top = module.split(".")[0]
    if top in seen:
        return []
    seen.add(top)
    found: list[str] = []
    for folder in folders:
        path = folder / f"{top}.py"
        if not files.is_file(path):
            continue
        try:
            tree = ast.parse(files.read_text(path))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            return found
        for name, _node in _top_level_imports(tree):
            if _third_party(name, folders, files):
                found.append(name)
            elif _is_local(name.split(".")[0], folders, files):
                found += _local_module_imports(name, folders, files, seen)
        return found
    return found


def _notebook_imports(ctx: LintContext, folders: list[Path], everywhere: bool = False):
    """(cell, result, node, module, via, shell) for each third-party module the notebook
    imports, directly (``via`` None) or through a local module beside it (``via`` its name);
    ``shell`` when an earlier shell line names it (`!pip install x`, `!f2py -m x ...`: the
    notebook installs or builds it). ``everywhere`` as in ``_top_level_imports``."""
    earlier = ""
    shell: set[str] = set()  # words of earlier shell lines
    for cell, result in ctx.code_cells:
        has_imports = result.tree is not None and "import" in result.masked_source
        imports = _cell_imports(ctx, result, everywhere) if has_imports else ()
        for name, node in imports:
            top = name.split(".")[0]
            if f"{top}.py" in earlier:
                continue  # a local module an earlier cell writes (`%%writefile mymodule.py`)
            if _third_party(name, folders, ctx.files):
                yield cell, result, node, name, None, top in shell
            elif _is_local(top, folders, ctx.files):
                for inner in _local_module_imports(name, folders, ctx.files):
                    yield cell, result, node, inner, top, False
        earlier += cell.source
        shell.update(
            word for line in cell.source.split("\n") if line.lstrip().startswith("!")
            for word in re.findall(r"[A-Za-z_]\w*", line)
        )


def _folders(ctx: LintContext) -> list[Path]:
    found = [f for f in (ctx.project_root, ctx.nb.path.parent if ctx.nb.path else None) if f]
    return list(dict.fromkeys(found))


def missing_module(module: str) -> str | None:
    """The part of the dotted ``module`` this environment lacks (found, never imported), or
    None when it is installed: the top-level package, or the first sub-package of a
    namespace package (``mpl_toolkits.basemap`` is a distribution of its own)."""
    parts = module.split(".")
    if not _can_find(parts[0]):
        return parts[0]
    if len(parts) > 1 and _is_namespace(parts[0]) and not _can_find(".".join(parts[:2])):
        return ".".join(parts[:2])
    return None


@functools.lru_cache(maxsize=512)
def _can_find(name: str) -> bool:
    import importlib.util

    try:
        # For ``a.b`` this imports ``a``: only ever a namespace package here, no code runs.
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=128)
def _is_namespace(name: str) -> bool:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin in (None, "namespace") and bool(
        spec.submodule_search_locations
    )


class MissingPackage(Rule):
    """## What it does
    Checks that every third-party module the notebook imports is installed in the
    environment nbprod runs in, following imports into local modules beside the notebook
    (`from stocker import Stocker`, where `stocker.py` imports `quandl`), and into namespace
    packages whose parts are installed separately (`mpl_toolkits.basemap`). Imports inside a
    `try` (an `except ImportError` fallback) or a function are not checked, nor modules an
    earlier shell line installs or builds (`!pip install x`, `!f2py -c x.f -m x`; NB203
    says why installing in the notebook is fragile).

    ## Why is this bad?
    A top-to-bottom run in this environment stops with `ModuleNotFoundError` at that cell.
    When the notebook runs in another environment (another kernel), install the package
    there, or lint with nbprod installed in it.

    ## Example
    ```python
    import seaborn as sns  # not installed
    ```

    ## Use instead
    Install it (`pip install seaborn`) and declare it in requirements.txt or
    pyproject.toml, so that whoever reruns the notebook gets it too.
    """

    code = "NB208"
    name = "missing-package"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        reported: set[str] = set()
        for cell, result, node, module, via, shell in _notebook_imports(ctx, _folders(ctx)):
            missing = None if shell else missing_module(module)
            if missing is None or missing in reported:
                continue
            reported.add(missing)
            through = f" (imported by the local module `{via}`)" if via else ""
            yield self.diagnostic(
                ctx,
                cell,
                f"`{missing}`{through} is not installed in this environment; a rerun stops"
                f" here with ModuleNotFoundError: install {IMPORT_ALIASES.get(missing, missing)}",
                **span(result, node).kwargs(),
            )


class UndeclaredDependency(Rule):
    """## What it does
    Checks that every third-party module the notebook imports is declared by the project:
    in a `requirements*.txt`, `pyproject.toml` (`[project]` dependencies, optional
    dependencies, dependency groups, Poetry) or `environment.yml` at the project root or
    beside the notebook. Import names are mapped to distributions through the installed
    packages' metadata plus a small table (`sklearn` is `scikit-learn`). Imports of local
    modules beside the notebook are followed (`from stocker import Stocker`, where
    `stocker.py` imports `quandl`). Standard library and local modules are never reported;
    imports inside a `try` or a function are not checked; without any declaration file the
    rule is silent. NB208 reports a package that is not installed at all.

    ## Why is this bad?
    Whoever installs the project from its declarations (a colleague, CI, a container) gets
    `ModuleNotFoundError` in the middle of a run.

    ## Example
    ```python
    import xgboost  # requirements.txt lists pandas and scikit-learn only
    ```

    ## Use instead
    Add `xgboost` to requirements.txt (or to `[project] dependencies`).
    """

    code = "NB207"
    name = "undeclared-dependency"

    @classmethod
    def prepare(cls, cache_folder):
        prepare_installed(cache_folder)

    def check(self, ctx):
        folders = _folders(ctx)
        if not folders:
            return
        declared = ctx.memo("declared", lambda: declared_distributions(folders, ctx.files))
        if declared is None:
            return
        reported: set[str] = set()
        for cell, result, node, module, via, _shell in _notebook_imports(
            ctx, folders, everywhere=True
        ):
            top = module.split(".")[0]
            if top in reported or import_distributions(top) & declared:
                continue
            reported.add(top)
            through = f" (by the local module `{via}`)" if via else ""
            yield self.diagnostic(
                ctx,
                cell,
                f"`{top}` is imported{through} but the project does not declare it; add"
                f" {_suggest(top)} to requirements.txt or pyproject.toml",
                **span(result, node).kwargs(),
            )


def _suggest(module: str) -> str:
    installed = module_distributions().get(module)
    return installed[0] if installed else IMPORT_ALIASES.get(module, module)


def _is_local(module: str, folders: list[Path], files: FileProbe) -> bool:
    return any(
        files.exists(candidate)
        for folder in folders
        for candidate in (folder / f"{module}.py", folder / module, folder / "src" / module)
    )


RULES = (
    AbsolutePath,
    HomeDirectoryPath,
    InstallInNotebook,
    ChangeDirectory,
    MissingDataFile,
    LfsPointerFile,
    UndeclaredDependency,
    MissingPackage,
)

