"""``nbprod lint`` and ``nbprod rule``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

import click

from ..config import load_project_config
from ..lint import LintConfig, collect_notebooks, excluded, lint_paths
from ..lint.output import FORMATS, render, render_text, render_verdicts_json, statistics

_RUFF_CODE = re.compile(r"[A-Z]{1,4}[0-9]{1,4}")
_CODE_HELP = "comma-separated; NB codes are nbprod's, any other code is ruff's"
_STYLES = {
    "path": {"bold": True},
    "code": {"fg": "yellow", "bold": True},
    "blocker": {"fg": "red", "bold": True},
    "fix": {"fg": "cyan"},
    "fail": {"fg": "red", "bold": True},
    "ok": {"fg": "green"},
}


def _style(kind: str, text: str) -> str:
    """Colour for a terminal; ``click.echo`` removes it when the output is not one."""
    return click.style(text, **_STYLES.get(kind, {}))


def _color() -> bool | None:
    """False when ``NO_COLOR`` is set (no-color.org); otherwise click decides (a terminal)."""
    return False if os.environ.get("NO_COLOR") else None


def _split(values: tuple[str, ...]) -> tuple[str, ...] | None:
    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    return codes or None


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--select", multiple=True, help=f"Codes or prefixes to enable ({_CODE_HELP}).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--extend-select", multiple=True, help="Codes to enable on top of the selection.")
@click.option("--extend-exclude", multiple=True, metavar="PATTERN",
              help="Notebooks or folders to leave out, on top of `exclude` in the configuration"
                   " (a path relative to the project root, a folder or a file name; globs).")
@click.option("--fix", is_flag=True, help="Apply safe fixes, nbprod's and ruff's (atomic write).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply unsafe fixes (with --fix).")
@click.option("--diff", "show_diff", is_flag=True,
              help="Show what --fix would change, cell by cell, and write nothing.")
@click.option(
    "--output-format", type=click.Choice(sorted(FORMATS)), default="text", show_default=True
)
@click.option("--statistics", "show_statistics", is_flag=True,
              help="Print a count per rule instead of findings.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--max-size", type=click.IntRange(min=1), default=None,
              help="Largest notebook read, in MiB (default 100).")
@click.option("--no-ruff", is_flag=True, help="Run nbprod's rules only, not ruff's.")
@click.option("--no-cache", is_flag=True,
              help="Lint every notebook afresh: neither read nor write the lint cache.")
@click.option("--rerun", "rerun_only", is_flag=True,
              help="Show only what stops a top-to-bottom rerun, and each notebook's verdict.")
@click.option("--show-files", is_flag=True,
              help="List the notebooks that would be linted (after exclude and .gitignore),"
                   " lint nothing.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print the findings only: no summary line, no progress bar.")
def lint_command(paths, select, ignore, extend_select, extend_exclude, fix, unsafe_fixes, show_diff,
                 output_format, show_statistics, exit_zero, max_size, no_ruff, no_cache,
                 rerun_only, show_files, quiet):
    """Lint notebooks (files or folders, recursively) with nbprod's rules and ruff's.

    A folder search leaves out hidden folders, virtual environments, node_modules, what
    git ignores and what `exclude` names in [tool.nbprod.lint].

    Each notebook gets a rerun verdict, the first finding that stops a top-to-bottom run
    in a fresh kernel (`will fail at cell N: ...`) or `no rerun blocker found`: a line
    after its findings in the text output, an object per notebook with --rerun in JSON.

    \b
    Exit codes: 0 no findings (or --exit-zero), 1 findings (with --rerun: a notebook
    will fail), 2 a notebook could not be read, or bad usage / configuration.

    The findings of notebooks that did not change since the last run (nor any file they
    read) come from a cache in $NBPROD_CACHE_DIR (default ~/.cache/nbprod).
    """
    targets = list(paths) or [Path(".")]
    project = load_project_config(targets[0])
    extra = tuple(p.strip() for v in extend_exclude for p in v.split(",") if p.strip())
    config = project.section(
        "lint",
        LintConfig,
        select=_split(select),
        extend_select=_split(extend_select),
        fix=fix or show_diff or None,
        unsafe_fixes=unsafe_fixes or None,
        diff=show_diff or None,
        max_size=max_size,
        ruff=False if no_ruff else None,
    )
    if _split(ignore):
        # As ruff: a --select starts the selection afresh; without one, --ignore adds to the
        # configuration's ignore (a hook's --ignore NB208 keeps the project's own ignores).
        kept = () if _split(select) else config.ignore
        config = replace(config, ignore=(*kept, *_split(ignore)))
    configured = config.exclude
    if extra:
        config = replace(config, exclude=(*config.exclude, *extra))
    if show_files:
        files = collect_notebooks(targets, config.exclude, project.root,
                                  gitignore=config.respect_gitignore)
        _warn_excluded(paths, config.exclude, configured, project)
        shown = [str(path) for path in files]
        click.echo(json.dumps(shown) if output_format == "json" else "\n".join(shown),
                   nl=output_format == "json" or bool(shown))
        return 0
    cache = None
    if not (no_cache or config.fix):
        from ..lint.cache import LintCache

        cache = LintCache.for_settings(config, project.root)
    with (contextlib.nullcontext() if quiet else _progress()) as progress:
        report = lint_paths(targets, config, project.root, cache=cache, progress=progress)
    _warn_excluded(paths, config.exclude, configured, project)
    if show_diff:
        return _show_diff(report, output_format)
    diagnostics = report.diagnostics
    verdicts = report.verdicts
    if rerun_only:
        diagnostics = [d for d in diagnostics if d.rerun_blocker]
    if show_statistics:
        text = statistics(diagnostics, "json" if output_format != "text" else "text")
    elif output_format == "text":
        text = render_text(diagnostics, verdicts, _style)
    elif output_format == "json" and rerun_only:
        text = render_verdicts_json(verdicts, diagnostics)
    else:
        text = render(diagnostics, output_format)
    if text or output_format != "text":
        click.echo(text, color=_color())
    for message in report.warnings:
        click.echo(f"warning: {message}", err=True)
    for message in report.errors:
        click.echo(f"error: {message}", err=True)
    if report.written_files and output_format == "text":
        shown = ", ".join(os.path.relpath(path) for path in report.written_files)
        click.echo(f"The fixes also wrote {shown}.", err=True)
    if (output_format == "text" and not quiet) or report.errors:
        safe = sum(d.fix_applicability == "safe" for d in diagnostics)
        hidden = sum(d.fix_applicability == "unsafe" for d in diagnostics)
        failing = sum(v.will_fail for v in verdicts)
        _summary(len(diagnostics), safe, report, hidden, failing)
    if report.errors:
        return 2
    if rerun_only:
        return 0 if exit_zero or not any(v.will_fail for v in verdicts) else 1
    return 0 if exit_zero or not diagnostics else 1


#: From this many notebooks to lint (not taken from the cache) on, a lint draws a progress
#: bar on a terminal: fewer take about a second or less.
PROGRESS_MINIMUM = 300


def _progress():
    """A progress bar for long lints when stderr is a terminal (the import of rich is paid
    only then), else nothing."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from .progress import CountProgress

    return CountProgress("Linting", PROGRESS_MINIMUM)


def _warn_excluded(paths, patterns: tuple[str, ...], configured: tuple[str, ...],
                   project) -> None:
    """Say which notebooks and folders named on the command line an exclude pattern left
    out, with the pattern and where it was set (found by a search, they are not named)."""
    for target in paths:
        pattern = excluded(target, patterns, project.root)
        if pattern is not None:
            origin = (f"`exclude` in {os.path.relpath(project.pyproject)}"
                      if pattern in configured and project.pyproject else "--extend-exclude")
            click.echo(f"warning: {target}: not linted, it matches the pattern {pattern!r}"
                       f" of {origin}", err=True)


def _show_diff(report, output_format: str) -> int:
    """``--diff``: what the fixes would change; exit 1 when there is anything, as ruff does."""
    from ..lint.preview import unified

    previews = report.previews
    if output_format == "json":
        click.echo(json.dumps({"notebooks": previews}, indent=2, ensure_ascii=False))
    else:
        for preview in previews:
            click.echo(unified(preview), nl=False)
        count = sum(len(p["cells"]) for p in previews)
        click.echo(f"Would fix {report.fixed} finding{'s' if report.fixed != 1 else ''}:"
                   f" {count} cell{'s' if count != 1 else ''} would change.", err=True)
    for message in report.warnings:  # a notebook fixes will not touch says why here
        click.echo(f"warning: {message}", err=True)
    for message in report.errors:
        click.echo(f"error: {message}", err=True)
    if report.errors:
        return 2
    return 1 if previews else 0


def _summary(found: int, fixable: int, report, hidden: int = 0, failing: int = 0) -> None:
    """One closing line on stderr, so stdout stays machine-readable; as ruff, ``fixable``
    counts safe fixes and ``hidden`` the unsafe ones that need ``--unsafe-fixes``;
    ``failing`` the notebooks whose rerun verdict is that they will fail."""
    linted = len(report.results)
    parts = []
    if report.fixed:
        parts.append(f"fixed {report.fixed}")
    parts.append(f"found {found} finding{'s' if found != 1 else ''}")
    text = ", ".join(parts).capitalize()
    text += f" in {linted} notebook{'s' if linted != 1 else ''}"
    notes = [f"{fixable} fixable with --fix"] if fixable else []
    if hidden:
        notes.append(
            f"{hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with --unsafe-fixes"
        )
    if notes:
        text += f" ({'; '.join(notes)})"
    if failing:
        text += f"; {failing} notebook{'s' if failing != 1 else ''} will fail a rerun"
    if report.errors:
        failed = len(report.errors)
        text += f"; {failed} notebook{'s' if failed != 1 else ''} could not be read (see above)"
    click.echo(text + ".", err=True)


@click.command("rule")
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def rule_command(code, show_all, output_format):
    """Show the documentation of a lint rule (by code or name), or list all rules.

    Codes that are not nbprod's are ruff's: ``nbprod rule F401`` shows ``ruff rule F401``.
    JSON has ruff's field names (code, name, summary, fix, explanation), plus whether the
    rule is on by default (`default`) and blocks a rerun (`rerun_blocker`).
    """
    from ..lint.rules import rule_registry

    as_json = output_format == "json"
    if code and not show_all:
        key = code.upper() if code[:2].isalpha() and code[2:].isdigit() else code
        if key not in rule_registry and _RUFF_CODE.fullmatch(key) and not key.startswith("NB"):
            return _ruff_rule(key, as_json)
        rule = rule_registry.get(key)
        if as_json:
            click.echo(json.dumps(_rule_json(rule), indent=2))
            return 0
        fix = f"Fix: {rule.fix_applicability.value}" if rule.fix_applicability else "Fix: none"
        facts = (f"{fix} · On by default: {'yes' if rule.default else 'no'}"
                 f" · Rerun blocker: {'yes' if rule.rerun_blocker else 'no'}")
        click.echo(f"{rule.code} ({rule.name})\n{facts}\n\n{rule.documentation()}")
        return 0
    if as_json:
        from ..lint.docs import families

        rules = [rule for _, family in families() for rule in family]
        click.echo(json.dumps([_rule_json(r) for r in rules], indent=2))
        return 0
    import shutil

    from ..lint.docs import rule_table

    click.echo(rule_table(width=max(shutil.get_terminal_size((100, 24)).columns, 80)))
    return 0


def _rule_json(rule) -> dict:
    fix = rule.fix_applicability.value if rule.fix_applicability else None
    return {"code": rule.code, "name": rule.name, "linter": "nbprod",
            "summary": rule.summary(), "fix": fix, "severity": rule.severity.value,
            "default": rule.default, "rerun_blocker": rule.rerun_blocker,
            "explanation": rule.documentation()}


def _ruff_rule(code: str, as_json: bool = False) -> int:
    import subprocess

    from ..errors import ConfigError
    from ..lint.ruff_binary import ruff_binary

    command = [ruff_binary(), "rule", code, *(["--output-format", "json"] if as_json else [])]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigError(
            f"unknown rule {code!r}: neither an nbprod rule nor a ruff rule;"
            " see `nbprod rule --all` and `ruff rule --all`"
        )
    click.echo(proc.stdout.rstrip("\n"))
    return 0
