"""Export to a plain Python script: the steps in order, with no orchestrator and no nbprod.

Notebook steps run through papermill (outputs next to the script's ``--out`` folder); function
steps import the generated step module and hand values from step to step in memory. Pipeline
parameters become command-line options of the script.
"""

from __future__ import annotations

from pathlib import Path

from .plan import Plan, type_of
from .targets import header, identifier

__all__ = ["export_script"]


def export_script(plan: Plan, *, root: Path) -> str:
    """The text of a Python script that runs ``plan`` from top to bottom."""
    del root  # the script runs from the project folder it is started in
    params = plan.pipeline.parameters
    modules = sorted({plan.step(n).function.split(":")[0] for n in plan.order
                      if plan.step(n).function})
    lines = [
        "#!/usr/bin/env python3",
        header(plan).rstrip("\n"),
        '"""Run the pipeline ' + repr(plan.pipeline.name) + ' step by step."""',
        "",
        "import argparse",
        "import os",
        "import sys",
        "",
        "from nbprod.errors import NbprodError",
        "from nbprod.params.coerce import coerce_text",
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
    notebooks = any(plan.step(n).notebook for n in plan.order)
    if notebooks:
        lines.append('    parser.add_argument("--out", default="pipeline-outputs",'
                     ' help="folder for executed notebooks")')
    for param in params:
        lines.append(
            f"    parser.add_argument({'--' + param.name!r},"
            f" type=reader({param.name!r}, {type_of(param)!r}),"
            f" default={param.default!r}, help={(param.help or param.type or '')!r})"
        )
    lines += [
        "    options = parser.parse_args(argv)",
        "    sys.path.insert(0, os.getcwd())",
    ]
    if notebooks:
        lines.append("    os.makedirs(options.out, exist_ok=True)")
    if modules:
        lines += [f"    import {m}" for m in modules]
    if notebooks:
        lines.append("    import papermill")
    for name in plan.order:
        step = plan.step(name)
        lines.append(f"    print({'step ' + name!r}, flush=True)")
        if step.notebook:
            shared = [p.name for p in params
                      if p.name in step.parameters or p.name in step.accepts]
            given = {k: v for k, v in plan.parameters[name].items() if k not in shared}
            overrides = ", ".join(f"{p!r}: options.{p}" for p in shared)
            out = f"{identifier(name)}.ipynb"
            lines.append(
                f"    papermill.execute_notebook({step.notebook!r},"
                f" os.path.join(options.out, {out!r}),"
                f" parameters={{**{given!r}, {overrides}}})"
            )
        else:
            module, _, function = (step.function or "").partition(":")
            args = [f"{a}={a}" for a in step.args if a in plan.producers.get(name, {})]
            args += [f"{p}=options.{p}" for p in step.parameters if any(
                q.name == p for q in params)]
            call = f"{module}.{function}({', '.join(args)})"
            if len(step.returns) == 1:
                lines.append(f"    {step.returns[0]} = {call}")
            elif step.returns:  # several values come back as a dict by name
                lines.append(f"    out = {call}")
                names = ", ".join(step.returns)
                picks = ", ".join(f"out[{r!r}]" for r in step.returns)
                lines.append(f"    {names} = {picks}")
            else:
                lines.append(f"    {call}")
    lines += ["    return 0", "", "", 'if __name__ == "__main__":', "    sys.exit(main())"]
    return "\n".join(lines) + "\n"
