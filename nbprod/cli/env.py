"""``nbprod env lock``: a run's environment as a lock file, and the source options that
``nbprod reproduce --isolated`` shares with it."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ..errors import PathError
from .streams import echo

__all__ = ["env_group", "source_options", "sources_from"]

_PYLOCK_NAME = re.compile(r"^pylock(\.[^.]+)?\.toml$")


def source_options(command):
    """``--index-url``, ``--find-links``, ``--no-index``, ``--offline``: where the
    distributions of a lock come from."""
    for option in reversed([
        click.option("--index-url", metavar="URL",
                     help="Package index to lock from (default: the one the run recorded)."),
        click.option("--find-links", "find_links", multiple=True, metavar="DIR",
                     type=click.Path(path_type=Path, exists=True, file_okay=False),
                     help="Also take distributions from this folder of wheels. Repeatable."),
        click.option("--no-index", is_flag=True,
                     help="Use the --find-links folders only, no package index."),
        click.option("--offline", is_flag=True,
                     help="No network: uv's cache and the --find-links folders only."),
    ]):
        command = option(command)
    return command


def sources_from(index_url, find_links, no_index, offline):
    from ..env import Sources

    return Sources(index_url=index_url, find_links=tuple(str(f) for f in find_links),
                   no_index=no_index, offline=offline)


def split_names(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--upgrade a,b --upgrade c`` -> ("a", "b", "c")."""
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


@click.group("env")
def env_group():
    """Lock a run's environment; list and prune rebuilt environments."""


@env_group.command("lock")
@click.argument("run_id")
@click.option("-o", "--output", type=click.Path(path_type=Path), metavar="FILE",
              help="Write the lock here: pylock.toml or pylock.NAME.toml for PEP 751, any other"
                   " name for requirements.txt (default: requirements.txt on stdout).")
@click.option("--upgrade", "upgrade", multiple=True, metavar="PKG[,PKG]",
              help="Lock these packages at their newest versions instead. Repeatable.")
@source_options
@click.option("--store", "store_dir", type=click.Path(path_type=Path),
              help="Run store folder (default: .nbprod at the project root).")
def lock_command(run_id, output, upgrade, index_url, find_links, no_index, offline, store_dir):
    """Write a run's environment as a lock file (requirements.txt or pylock.toml).

    Only the distributions the run needed are locked: those its kernel imported, with their
    requirements, at the recorded versions (and with the index's hashes); the lock is for the
    recorded Python version. Local and editable installs are built from the project at the
    recorded commit when it was clean, else locked as their folder (a note on stderr says
    so and what to do).

    Exit codes: 0 written, 2 unknown run, or a version the index does not have (the package
    is named), 3 uv failed.
    """
    from ..env import compile_lock, plan_for
    from ..fsutil import atomic_write, default_cache_folder
    from ..store import open_project_store

    if output is not None and output.suffix == ".toml" and not _PYLOCK_NAME.match(output.name):
        raise PathError(f"--output {output}: a PEP 751 lock must be named pylock.toml or"
                        " pylock.NAME.toml; choose such a name, or a .txt name for"
                        " requirements.txt")
    store = open_project_store(Path.cwd(), store_dir, create=False)
    receipt = store.get_run(run_id)
    cache = default_cache_folder()
    plan = plan_for(receipt, split_names(upgrade), cache)
    for note in plan.notes:
        echo(f"note: {note}", err=True)
    lock = compile_lock(plan, sources_from(index_url, find_links, no_index, offline), cache)
    if output is None:
        echo(lock.requirements_txt, nl=False)
        return 0
    pylock = output.suffix == ".toml"
    atomic_write(output, lock.pylock_toml if pylock else lock.requirements_txt)
    echo(f"wrote {output}: {len(lock.versions())} distributions for Python {plan.python}"
         f" ({'PEP 751' if pylock else 'requirements.txt'})", err=True)
    return 0


@env_group.command("list")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def list_command(output_format):
    """List the environments `nbprod reproduce --isolated` built, with size and last use."""
    import json

    from ..env.pruning import environments
    from ..fsutil import default_cache_folder

    found = environments(default_cache_folder())
    if output_format == "json":
        echo(json.dumps([env.to_dict() for env in found], indent=2))
        return 0
    if not found:
        echo("No isolated environments (nbprod reproduce --isolated builds them).")
        return 0
    from rich.table import Table

    from .runs import _render

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ENVIRONMENT", "RUN", "PYTHON", "LAST USED", "SIZE"):
        table.add_column(column, no_wrap=True)
    for env in found:
        table.add_row(env.key, env.run_id or "-", env.python or "-", _last_use(env),
                      _bytes(env.size))
    _render(table)
    echo(f"{len(found)} environment{'s' if len(found) != 1 else ''},"
         f" {_bytes(sum(env.size for env in found))}, in"
         f" {default_cache_folder() / 'envs'}", err=True)
    return 0


@env_group.command("prune")
@click.option("--older-than", "days", type=click.FloatRange(min=0), default=30,
              show_default=True, metavar="DAYS",
              help="Remove environments not used for this many days (0: all not in use).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def prune_command(days, dry_run):
    """Remove rebuilt environments not used for a while, with their Jupyter kernels.

    Leftovers of failed builds go too. An environment in use (being built, or running a
    kernel) is kept. A later `nbprod reproduce --isolated` rebuilds what it needs.
    """
    from ..env.pruning import prune
    from ..fsutil import default_cache_folder

    removed, busy = prune(default_cache_folder(), days, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for env in removed:
        echo(f"{verb} {env.folder} ({_bytes(env.size)}, run {env.run_id or '-'},"
             f" {_last_use(env)})")
    for env in busy:
        echo(f"kept {env.folder}: in use", err=True)
    total = _bytes(sum(env.size for env in removed))
    echo(f"{verb.capitalize()} {len(removed)} environment{'s' if len(removed) != 1 else ''}"
         f" ({total}).", err=True)
    return 0


def _age(when: float) -> str:
    import time

    seconds = max(0.0, time.time() - when)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def _bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _last_use(env) -> str:
    return _age(env.used) if env.complete else "incomplete build"

