"""The ``nbprod`` command line: a click group whose subcommands load lazily.

This package is the only place that prints, exits or renders progress. ``NbprodGroup.main``
is the single error boundary: an ``NbprodError`` prints ``error: <message>`` and exits with
its ``exit_code``; anything else is a bug and prints its traceback. Each subcommand lives in
its own module (``nbprod.cli.lint`` ...) so ``nbprod lint`` never imports papermill or Dask.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ..errors import NbprodError
from ..version import __version__

__all__ = ["cli", "main", "COMMANDS"]

#: command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "lint": "nbprod.cli.lint:lint_command",
    "rule": "nbprod.cli.lint:rule_command",
    "pipeline": "nbprod.cli.pipeline:pipeline_group",
    "sweep": "nbprod.cli.sweep:sweep_command",
    "export": "nbprod.cli.export:export_command",
    "tag": "nbprod.cli.export:tag_command",
    "runs": "nbprod.cli.runs:runs_group",
    "store": "nbprod.cli.runs:store_group",
    "run": "nbprod.cli.run:run_command",
    "params": "nbprod.cli.run:params_command",
    "reproduce": "nbprod.cli.run:reproduce_command",
    "env": "nbprod.cli.env:env_group",
    "init": "nbprod.cli.init:init_command",
    "models": "nbprod.cli.models:models_group",
    "serve": "nbprod.cli.serve:serve_command",
    "drift": "nbprod.cli.serve:drift_command",
}

#: command name -> the first line of its help, so ``nbprod --help`` imports no command module
#: (a test checks each against the command's own docstring).
SUMMARIES: dict[str, str] = {
    "drift": "Compare a CSV of inputs with the training data of a run's model (PSI per column).",
    "env": "Lock a run's environment; list and prune rebuilt environments.",
    "export": "Export tagged cells to a module, its tests and pipeline steps.",
    "init": "Add nbprod to a project: [tool.nbprod], CI jobs, pre-commit, a notebook.",
    "lint": "Lint notebooks (files or folders, recursively) with nbprod's rules and ruff's.",
    "models": "List, show, compare and alias the models runs recorded.",
    "params": "Show the parameters a notebook takes (from its cell tagged 'parameters').",
    "pipeline": "Run, draw, inspect and export pipelines.",
    "reproduce": "Re-run a recorded run with its parameters and compare the outputs.",
    "rule": "Show the documentation of a lint rule (by code or name), or list all rules.",
    "run": "Run a notebook with parameters and keep a receipt of the run.",
    "runs": "List, show and compare the runs recorded in the run store.",
    "serve": "Serve a notebook's model over HTTP: its serve cell's predict, validated, monitored.",
    "store": "Check and repair the run store.",
    "sweep": "Run NOTEBOOK once per combination of parameter values.",
    "tag": "Show each cell's nbprod marks, or propose tags with --suggest.",
}

BUG_MESSAGE = "this is a bug in nbprod, please report it with the traceback above"


def _print_traceback() -> None:
    # traceback (and linecache) load only when there is one to print.
    import traceback

    traceback.print_exc()


class NbprodGroup(click.Group):
    """Lazy subcommands plus the one place where errors become exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from ``SUMMARIES``: help starts fast, importing no command."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUMMARIES[name]) for name in self.list_commands(ctx)])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """As click's, but an unknown command gets a did-you-mean, as git and ruff give."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, sorted(COMMANDS), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def main(self, args=None, prog_name=None, **extra):  # type: ignore[override]
        debug = os.environ.get("NBPROD_DEBUG") == "1" or "--debug" in (args or sys.argv[1:])
        from .streams import tolerate_any_text

        tolerate_any_text()
        try:
            code = super().main(args=args, prog_name=prog_name or "nbprod",
                                standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except NbprodError as exc:
            if debug:
                _print_traceback()
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            from .streams import silence

            silence(sys.stdout, sys.stderr)  # nothing more to say, not even at shutdown
            sys.exit(1)
        except Exception:
            _print_traceback()
            click.echo(f"error: {BUG_MESSAGE}", err=True)
            sys.exit(2)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=NbprodGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbprod")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors too.")
def cli(debug: bool) -> None:
    """nbprod: take Jupyter notebooks to production.

    Lint notebooks, export tagged cells to a tested module, run them with typed parameters
    and keep a receipt of every run.
    """


def main() -> None:
    """Console-script entry point (``nbprod`` and ``python -m nbprod``): the process is nbprod's."""
    from ..lean_imports import skip_iri_grammars
    from .lifeline import watch_lifeline

    skip_iri_grammars()
    watch_lifeline()
    cli.main()
