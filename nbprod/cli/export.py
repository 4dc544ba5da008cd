"""``nbprod export`` and ``nbprod tag``."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import click

from ..config import load_project_config
from ..errors import NbprodWarning, NotebookError, PathError
from ..fsutil import atomic_write

FORMATS = ("text", "json")
#: How the loader ends a note about keys nbformat does not know (kept on save).
KEPT_AS_THEY_ARE = "unexpected keys kept as they are"


@click.command("export")
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder (inside the project) to generate into; default: the project root.")
@click.option("--module", help="Module name (default: '#| default_exp', else the file name).")
@click.option("--package", help="Package folder, relative to the project root.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if out of date.")
@click.option("--dry-run", is_flag=True, help="Write nothing; show what would change.")
@click.option("--force", is_flag=True,
              help="Overwrite generated files edited by hand (a backup is kept).")
@click.option("--strict", is_flag=True, default=None,
              help="Refuse a tagged cell that cannot be exported instead of leaving it out.")
@click.option("--to", "to", type=click.Choice(["service"]), default=None,
              help="service: write services/<module>/ (app, model, pinned requirements.txt,"
                   " Dockerfile) for a run's model.")
@click.option("--model", "model_ref", default=None,
              help="With --to service: NAME or NAME@ALIAS (default: the newest run's model).")
@click.option("--run", "run_id", default=None, help="With --to service: the run's model.")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
def export_command(notebooks, out_dir, module, package, check, dry_run, force, strict, to,
                   model_ref, run_id, output_format):
    """Export tagged cells to a module, its tests and pipeline steps.

    A tagged cell that cannot go into a Python file (a shell line, a name no cell above
    defines) is left out with a warning naming it, unless --strict. With --to service, the
    notebook's exported service is packaged with a run's model instead (run export first).
    Exit codes: 0 done (or up to date with --check, or nothing to export), 1 out of date
    (--check), 2 a notebook cannot be exported, a file would be overwritten unsafely, or bad
    usage.
    """
    if to == "service":
        if len(notebooks) != 1 or check or dry_run or module or package:
            raise click.UsageError("--to service takes one notebook and no --check, --dry-run,"
                                   " --module or --package")
        from .serve import _require_serving, export_service

        _require_serving()
        project = load_project_config(notebooks[0])
        return export_service(notebooks[0], model_ref, run_id,
                              _relative_out(out_dir, project.root), force, output_format)
    if model_ref or run_id:
        raise click.UsageError("--model and --run go with --to service")
    from ..export import ExportConfig, plan_export, refuse_unsafe, write_planned
    from ..export.requirements import declaration
    from ..export.writer import OverwriteRefused, refuse_duplicates
    from ..notebook import load

    if check and dry_run:
        raise click.UsageError("--check and --dry-run cannot be combined")
    planned: dict[Path, list] = {}
    empty: list[Path] = []
    other_language: list[str] = []
    declarations: list[tuple[Path, str, list[str]]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NbprodWarning)
        for path in notebooks:
            if path.is_dir():
                raise NotebookError(f"{path}: is a folder; give notebook files")
            project = load_project_config(path)
            overrides = {"module": module, "package": package, "strict": strict or None,
                         "out_dir": _relative_out(out_dir, project.root)}
            config = project.section("export", ExportConfig, **overrides)
            nb = load(path)
            if not nb.is_python:
                other_language.append(_not_python(path, nb, "exported"))
                continue
            statuses = plan_export(nb, config, root=project.root)
            if not statuses:
                empty.append(path)
            declared = declaration(nb, project.root)
            if declared:
                declarations.append(declared)
            planned.setdefault(project.root, []).extend(statuses)
    # Each fact once, in the order found (the module and the steps may both meet a cell).
    notes = list(dict.fromkeys(str(w.message) for w in caught
                               if issubclass(w.category, NbprodWarning)))
    files = [f for group in planned.values() for f in group]
    refuse_duplicates(files)
    if output_format == "text":
        for note in notes:
            click.echo(f"warning: {note}", err=True)
        for path in empty:
            click.echo(f"{path}: nothing to export: no code cell is tagged export, test or"
                       " step:<name> (nbprod tag --suggest proposes tags)", err=True)
        for line in other_language:
            click.echo(line, err=True)
    if check or dry_run:
        return _report_only(files, notes, check, output_format)
    try:
        for group in planned.values():
            refuse_unsafe(group, force=force)
    except OverwriteRefused as exc:
        if output_format == "text":
            for item in exc.refused:
                click.echo(item.diff(), nl=False)
        raise
    written = []
    for group in planned.values():
        written.extend(write_planned(group, force=force).written)
    for target, text, added in declarations:  # the installs the generated code needs
        atomic_write(target, text)
        if output_format == "text":
            click.echo(f"declared {', '.join(added)} in {target}", err=True)
    if output_format == "json":
        click.echo(json.dumps({"files": [f.to_dict() for f in files], "written": len(written),
                               "warnings": notes,
                               "declared": [{"path": str(t), "requirements": a}
                                            for t, _, a in declarations],
                               "nothing_to_export": [str(p) for p in empty]}, indent=2))
    else:
        for item in files:
            click.echo(f"{item.status:15s} {item.path}")
        unchanged = len(files) - len(written)
        click.echo(f"Exported {len(notebooks)} notebook{'s' if len(notebooks) != 1 else ''}:"
                   f" {len(written)} written, {unchanged} unchanged.", err=True)
    return 0


def _report_only(files, notes, check: bool, output_format: str) -> int:
    stale = [f for f in files if f.out_of_date]
    if output_format == "json":
        payload = {
            "files": [dict(f.to_dict(content=not check), **({"diff": f.diff()} if f.out_of_date
                                                            else {})) for f in files],
            "written": 0,
            "out_of_date": len(stale),
            "warnings": notes,
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        for item in files:
            if not check:
                click.echo(f"{item.status:15s} {item.path}")
        for item in stale:
            click.echo(item.diff(), nl=False)
        if check:
            click.echo(_check_summary(stale), err=True)
    return 1 if check and stale else 0


def _check_summary(stale) -> str:
    """The last line of ``export --check``: what is out of date and the command that brings
    it up to date (``nbprod export`` alone refuses to overwrite a file edited by hand)."""
    from ..export.writer import EDITED, FOREIGN

    if not stale:
        return "All generated files are up to date."
    line = (f"{len(stale)} generated file{'s are' if len(stale) != 1 else ' is'} out of date;"
            " run nbprod export")
    edited = [str(f.path) for f in stale if f.status == EDITED]
    foreign = [str(f.path) for f in stale if f.status == FOREIGN]
    if edited:
        line += (f" ({', '.join(edited)} edited by hand: move the changes into the notebook,"
                 " or add --force to overwrite them, a backup is kept)")
    if foreign:
        line += (f" ({', '.join(foreign)} not generated by nbprod: move it away or choose"
                 " another module name)")
    return line


def _relative_out(out_dir: Path | None, root: Path) -> str | None:
    """``--out`` is given relative to the current folder; config paths are relative to root."""
    if out_dir is None:
        return None
    absolute = Path(os.path.abspath(out_dir))
    real_root = Path(os.path.realpath(root))
    real_out = Path(os.path.realpath(absolute))
    try:
        return real_out.relative_to(real_root).as_posix() or "."
    except ValueError:
        raise PathError(
            f"--out {out_dir}: resolves outside the project {real_root}; choose a folder inside it"
        ) from None


@click.command("tag")
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("--suggest", is_flag=True, help="Propose tags for the untagged cells.")
@click.option("--write", "write_tags", is_flag=True,
              help="With --suggest: add the proposed tags to the notebook (atomic write).")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
def tag_command(notebook, suggest, write_tags, output_format):
    """Show each cell's nbprod marks, or propose tags with --suggest.

    Only --write changes the notebook, and only cell tags (never sources or outputs).
    Exit codes: 0 done, 2 unreadable notebook or bad usage.
    """
    from ..export.cells import first_line
    from ..export.suggest import apply_suggestions, suggest_tags
    from ..notebook import load, save

    if write_tags and not suggest:
        raise click.UsageError("--write needs --suggest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbprodWarning)
        nb = load(notebook)
    if not suggest:
        rows = [
            {"cell": c.index, "cell_id": c.id, "first_line": _shown(first_line(c.source)),
             "marks": sorted(c.marks)}
            for c in nb.code_cells
        ]
        if output_format == "json":
            click.echo(json.dumps(rows, indent=2))
        else:
            _table(["cell", "first line", "marks"],
                   [[str(r["cell"]), r["first_line"], ", ".join(r["marks"])] for r in rows])
        return 0
    if not nb.is_python:
        # Every cell would be "skip: does not parse": say why once instead.
        click.echo(_not_python(notebook, nb, "given tag proposals"), err=True)
        if output_format == "json":
            click.echo(json.dumps({"suggestions": [], "written": 0}, indent=2))
        return 0
    suggestions = suggest_tags(nb)
    changed = 0
    if write_tags and suggestions:
        # Extra keys other tools put in a notebook are written back as they are, so adding
        # tags loses nothing; any repair made while reading would be written too: refuse.
        repairs = [w for w in nb.warnings if not w.endswith(KEPT_AS_THEY_ARE)]
        if repairs:
            raise NotebookError(
                f"{notebook}: {repairs[0]}; open and save it in Jupyter before --write, so"
                " nbprod only adds tags"
            )
        changed = apply_suggestions(nb, suggestions)
        if changed:
            save(nb)
    if output_format == "json":
        click.echo(json.dumps({"suggestions": [{**s.to_dict(), "first_line": _shown(s.first_line)}
                                               for s in suggestions],
                               "written": changed}, indent=2))
        return 0
    _table(["cell", "first line", "tag", "reason"],
           [[str(s.cell), _shown(s.first_line), s.tag, s.reason] for s in suggestions])
    if write_tags:
        click.echo(f"Tagged {changed} cell{'s' if changed != 1 else ''} in {notebook}.", err=True)
    elif suggestions:
        click.echo("Nothing written; add --write to apply these tags.", err=True)
    else:
        click.echo("No untagged code cells to suggest tags for.", err=True)
    return 0


def _not_python(path, nb, what: str) -> str:
    """Why a notebook in another language (R, APL...) is left alone, in one line."""
    kernel = nb.node.get("metadata", {}).get("kernelspec", {}).get("name") or "none"
    return (f"{path}: its language is {nb.kernel_language} (kernel {kernel!r}); only Python"
            f" notebooks are {what}")


def _table(headers: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False)
    for header in headers:
        # A tag is what --write writes: folded onto more lines when long, never cut.
        table.add_column(header, overflow="fold" if header in ("tag", "marks") else "ellipsis")
    for row in rows:
        table.add_row(*(Text(value) for value in row))  # cell text is code, never rich markup
    Console(file=sys.stdout, width=120, highlight=False).print(table)


def _shown(text: str) -> str:
    """A cell's first line as the table shows it: secrets masked, as lint shows them, then
    cut to 60 characters."""
    from ..lint.rules.secrets import quoted

    return quoted(text, 60)
