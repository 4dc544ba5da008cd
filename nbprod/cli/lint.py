"""``nbprod lint`` and ``nbprod rule``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from ..config import load_project_config
from ..lint import LintConfig, lint_paths
from ..lint.output import FORMATS, render


def _split(values: tuple[str, ...]) -> tuple[str, ...] | None:
    codes = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    return codes or None


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--extend-select", multiple=True, help="Codes to enable on top of the selection.")
@click.option("--fix", is_flag=True, help="Apply safe fixes (atomic write).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply unsafe fixes (with --fix).")
@click.option(
    "--output-format", type=click.Choice(sorted(FORMATS)), default="text", show_default=True
)
@click.option("--statistics", is_flag=True, help="Print a count per rule instead of findings.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--max-size", type=int, default=None, help="Largest notebook read, in MiB.")
def lint_command(paths, select, ignore, extend_select, fix, unsafe_fixes, output_format,
                 statistics, exit_zero, max_size):
    """Lint notebooks (files or folders, recursively).

    Exit codes: 0 clean, 1 findings, 2 a notebook could not be read or bad usage.
    """
    targets = list(paths) or [Path(".")]
    project = load_project_config(targets[0])
    config = project.section(
        "lint",
        LintConfig,
        select=_split(select),
        ignore=_split(ignore),
        extend_select=_split(extend_select),
        fix=fix or None,
        unsafe_fixes=unsafe_fixes or None,
        max_size=max_size * 2**20 if max_size else None,
    )
    report = lint_paths(targets, config, project.root)
    diagnostics = report.diagnostics
    if statistics:
        counts = Counter((d.code, d.name) for d in diagnostics)
        for (code, name), count in counts.most_common():
            click.echo(f"{count:5d}  {code}  {name}")
    else:
        text = render(diagnostics, output_format)
        if text:
            click.echo(text)
    for message in report.errors:
        click.echo(f"error: {message}", err=True)
    if output_format == "text" and not statistics:
        _summary(len(diagnostics), report.fixed, len(report.errors))
    if report.errors:
        return 2
    return 0 if exit_zero or not diagnostics else 1


def _summary(found: int, fixed: int, errors: int) -> None:
    parts = []
    if fixed:
        parts.append(f"fixed {fixed}")
    parts.append(f"found {found} finding{'s' if found != 1 else ''}")
    if errors:
        parts.append(f"{errors} notebook{'s' if errors != 1 else ''} could not be read")
    click.echo(", ".join(parts).capitalize() + ".", err=True)


@click.command("rule")
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
def rule_command(code, show_all):
    """Show the documentation of a lint rule (by code or name), or list all rules."""
    from ..lint.rules import rule_registry

    if code and not show_all:
        rule = rule_registry.get(code.upper() if code[:2].isalpha() and code[2:].isdigit() else code)
        fix = f"Fix: {rule.fix_applicability.value}" if rule.fix_applicability else "Fix: none"
        click.echo(f"{rule.code} ({rule.name})\n{fix}\n\n{rule.documentation()}")
        return 0
    for name, rule in rule_registry.items():
        fixable = "[*]" if rule.fix_applicability else "   "
        click.echo(f"{name}  {fixable} {rule.name:40s} {rule.summary()}")
    return 0
