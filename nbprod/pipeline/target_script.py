"""Export to a plain Python script: the steps in order, with no orchestrator.

Notebook steps run through papermill (outputs in the script's ``--out`` folder); function
steps import the generated step module and hand values from step to step in memory. Pipeline
parameters become command-line options of the script, read as ``nbprod run -p`` reads them
(the script imports nbprod for that).

The script runs from any current folder the way ``nbprod pipeline run`` runs the pipeline: it
finds the project folder (``NBPROD_PROJECT``, else the nearest folder above the script, then
above the current folder, that holds the files the steps run, else the folder it was exported
from), puts it on ``sys.path``, runs function steps in their notebook's folder and each
notebook step's kernel in its notebook's folder (or ``[tool.nbprod.run] cwd``). Paths are
kept relative to the project, so a clone of the project elsewhere runs as it is.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from .plan import Plan, type_of
from .targets import header, identifier

__all__ = ["export_script"]


def export_script(plan: Plan, *, root: Path) -> str:
    """The text of a Python script that runs ``plan`` from top to bottom, from any folder."""
    params = plan.pipeline.parameters
    modules = sorted({plan.step(n).function.split(":")[0] for n in plan.order
                      if plan.step(n).function})
    module_files = [_module_file(root, m) for m in modules]
    notebooks = [plan.step(n).notebook for n in plan.order if plan.step(n).notebook]
    project_files = sorted({*module_files, *notebooks})
    import_folders = ["."] + (["src"] if any(f.startswith("src/") for f in module_files)
                              else [])
    source = plan.pipeline.source
    step_folder = posixpath.dirname(source) if source and modules else ""
    kernel_folder = _kernel_folder(root)
    lines = [
        "#!/usr/bin/env python3",
        header(plan).rstrip("\n"),
        '"""Run the pipeline ' + repr(plan.pipeline.name) + " step by step, from any folder, as",
        "`nbprod pipeline run` runs it: the project (NBPROD_PROJECT, else the folder above this",
        "script or the current folder that holds the files below, else the one it was exported",
        "from) goes on sys.path, function steps run in their notebook's folder, each notebook",
        "step's kernel in its notebook's folder.",
        '"""',
        "",
        "import argparse",
        "import contextlib",
        "import os",
        "import sys",
        "",
        "from nbprod.errors import NbprodError",
        "from nbprod.params.coerce import coerce_text",
        "",
        "#: The files the steps run, relative to the project folder: how the script finds it.",
        f"PROJECT_FILES = {project_files!r}",
        "#: The project folder the script was exported from, the last place it looks.",
        f"EXPORTED_FROM = {str(root)!r}",
        "#: Folders of the project put on sys.path, so the step modules import.",
        f"IMPORT_FOLDERS = {import_folders!r}",
        "#: Where function steps run, relative to the project: their notebook's folder.",
        f"STEP_FOLDER = {step_folder!r}",
        "",
        "",
        "def holds_project(folder):",
        "    return all(os.path.exists(os.path.join(folder, f)) for f in PROJECT_FILES)",
        "",
        "",
        "def project_root():",
        '    """The project folder this pipeline belongs to (see the docstring above)."""',
        '    given = os.environ.get("NBPROD_PROJECT")',
        "    if given:",
        "        return os.path.abspath(given)",
        "    starts = [os.path.dirname(os.path.abspath(__file__)), os.getcwd()]",
        "    for folder in starts:",
        "        while True:",
        "            if holds_project(folder):",
        "                return folder",
        "            parent = os.path.dirname(folder)",
        "            if parent == folder:",
        "                break",
        "            folder = parent",
        "    if holds_project(EXPORTED_FROM):",
        "        return EXPORTED_FROM",
        '    print(f"error: no folder above {starts[0]} or {starts[1]} holds the project of this"',
        '          f" pipeline ({\', \'.join(PROJECT_FILES)}); set NBPROD_PROJECT to the project"',
        '          " folder", file=sys.stderr)',
        "    raise SystemExit(2)",
        "",
        "",
        "@contextlib.contextmanager",
        "def working_folder(folder):",
        '    """Run relative paths from `folder` (when it exists), then come back."""',
        "    previous = os.getcwd()",
        "    if os.path.isdir(folder):",
        "        os.chdir(folder)",
        "    try:",
        "        yield",
        "    finally:",
        "        os.chdir(previous)",
        "",
        "",
        "def reader(name, type_name):",
        '    """Reads a command-line value as `nbprod run -p` does (same value, same error)."""',
        "    def read(text):",
        "        try:",
        "            return coerce_text(name, text, type_name, where='this script')",
        "        except NbprodError as exc:",
        "            raise argparse.ArgumentTypeError(str(exc)) from None",
        "    return read",
        "",
        "",
        "def main(argv=None):",
        f"    parser = argparse.ArgumentParser(description={plan.pipeline.name!r})",
    ]
    if notebooks:
        lines.append('    parser.add_argument("--out", default="pipeline-outputs",'
                     ' help="folder for executed notebooks (from the current folder)")')
    for param in params:
        lines.append(
            f"    parser.add_argument({'--' + param.name!r},"
            f" type=reader({param.name!r}, {type_of(param)!r}),"
            f" default={param.default!r}, help={(param.help or param.type or '')!r})"
        )
    lines += [
        "    options = parser.parse_args(argv)",
        "    root = project_root()",
        "    for folder in reversed(IMPORT_FOLDERS):",
        "        sys.path.insert(0, os.path.normpath(os.path.join(root, folder)))",
    ]
    if notebooks:
        lines += ["    out = os.path.abspath(options.out)",
                  "    os.makedirs(out, exist_ok=True)"]
    if modules:
        lines += [f"    import {m}" for m in modules]
        # The steps run in the notebook's folder, as the notebook's own cells did.
        lines.append("    with working_folder(os.path.join(root, STEP_FOLDER)):")
    if notebooks:
        lines.append("    import papermill")
    indent = "        " if modules else "    "
    for name in plan.order:
        step = plan.step(name)
        lines.append(f"{indent}print({'step ' + name!r}, flush=True)")
        if step.notebook:
            shared = [p.name for p in params
                      if p.name in step.parameters or p.name in step.accepts]
            given = {k: v for k, v in plan.parameters[name].items() if k not in shared}
            overrides = ", ".join(f"{p!r}: options.{p}" for p in shared)
            out = f"{identifier(name)}.ipynb"
            cwd = kernel_folder if kernel_folder is not None else posixpath.dirname(
                step.notebook)
            lines.append(
                f"{indent}papermill.execute_notebook(os.path.join(root, {step.notebook!r}),"
                f" os.path.join(out, {out!r}), parameters={{**{given!r}, {overrides}}},"
                f" cwd=os.path.join(root, {cwd!r}))"
            )
        else:
            module, _, function = (step.function or "").partition(":")
            args = [f"{a}={a}" for a in step.args if a in plan.producers.get(name, {})]
            args += [f"{p}=options.{p}" for p in step.parameters if any(
                q.name == p for q in params)]
            call = f"{module}.{function}({', '.join(args)})"
            if len(step.returns) == 1:
                lines.append(f"{indent}{step.returns[0]} = {call}")
            elif step.returns:  # several values come back as a dict by name
                lines.append(f"{indent}values = {call}")
                names = ", ".join(step.returns)
                picks = ", ".join(f"values[{r!r}]" for r in step.returns)
                lines.append(f"{indent}{names} = {picks}")
            else:
                lines.append(f"{indent}{call}")
    lines += ["    return 0", "", "", 'if __name__ == "__main__":', "    sys.exit(main())"]
    return "\n".join(lines) + "\n"


def _module_file(root: Path, module: str) -> str:
    """Where the generated module ``module`` is, relative to the project root, as
    ``nbprod pipeline run`` looks for it (the root, then ``src/``); the root when it is
    not written yet."""
    relative = module.replace(".", "/")
    for candidate in (f"{relative}.py", f"src/{relative}.py", f"{relative}/__init__.py",
                      f"src/{relative}/__init__.py"):
        if (root / candidate).is_file():
            return candidate
    return f"{relative}.py"


def _kernel_folder(root: Path) -> str | None:
    """``[tool.nbprod.run] cwd`` (the kernels' working folder, relative to the project), or
    None: each notebook's own folder."""
    from ..config import load_project_config
    from ..run import RunConfig

    return load_project_config(root).section("run", RunConfig).cwd
