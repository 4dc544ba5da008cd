"""papermill's command line on ``nbprod run``: ``IN [OUT]``, ``-p``, ``-r``, ``-y``, ``-b``,
``-f``.

A script written for papermill keeps working with ``nbprod run`` in place of ``papermill``.
Parameter sources are merged in papermill's order (base64, files, YAML strings, ``-p``, then
``-r``: later sources win), and each keeps its meaning: ``-p`` values are text converted to
the declared type, ``-r`` values stay text, YAML values are data.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import click

from ..errors import ParameterError, PathError

__all__ = ["PAPERMILL_ONLY", "RunCommand", "merge_parameters", "output_target"]

#: papermill options ``nbprod run`` does not take, each with what to do instead.
PAPERMILL_ONLY = {
    "--prepare-only": "nbprod always executes; `nbprod params NB` shows the parameters",
    "--prepare-execute": "nbprod always executes",
    "--engine": "nbprod runs notebooks with its own engine (papermill's, with nbprod's status)",
    "--language": "the kernel decides the language; choose it with -k",
    "-l": "the kernel decides the language; choose it with -k",
    "--inject-input-path": "the receipt records the input path",
    "--inject-output-path": "the receipt records the output path",
    "--inject-paths": "the receipt records both paths",
    "--report-mode": "not supported",
    "--no-report-mode": "not supported",
    "--stdout-file": "use --log-output, or read the output notebook",
    "--stderr-file": "use --log-output, or read the output notebook",
    "--start-timeout": "nbprod waits 60 s for a kernel and retries one that never starts",
    "--start_timeout": "nbprod waits 60 s for a kernel and retries one that never starts",
    "--autosave-cell-every": "nbprod saves after every cell",
    "--log-level": "not supported",
    "--help-notebook": "use `nbprod params NB`",
}


class RunCommand(click.Command):
    """``nbprod run``: a papermill option it does not take is named as such, with what to
    use instead, rather than only "No such option"."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            hint = PAPERMILL_ONLY.get(exc.option_name)
            if hint:
                exc.message = (f"{exc.option_name} is a papermill option nbprod run does not"
                               f" take: {hint} (see docs/migration.md)")
                exc.possibilities = None
            raise


def output_target(positional: str | None, option: str | None) -> Path | None:
    """The ``--output`` copy: papermill's OUTPUT argument or ``-o`` (not both).

    Raises
    ------
    click.UsageError
        When both are given.
    PathError
        For papermill outputs nbprod does not write: ``-`` (stdout) and remote URLs; and
        for a path whose folder does not exist.
    """
    if positional is not None and option is not None:
        raise click.UsageError(
            f"give the output once: either OUTPUT ({positional}) or -o ({option})")
    target = positional if positional is not None else option
    if target is None:
        return None
    text = target  # as typed: a Path would fold "s3://bucket" into "s3:/bucket"
    if text == "-" or "://" in text:
        raise PathError(
            f"output {text}: nbprod run writes a local .ipynb file; the run's notebook is in"
            " .nbprod/runs/<run_id>/output.ipynb (nbprod runs path <run_id>), copy it from there"
        )
    path = Path(target)
    if not path.parent.is_dir():
        # papermill refuses too; creating folders would turn a typo into a tree of folders.
        raise PathError(
            f"output {text}: the folder {path.parent} does not exist; create it first, or"
            " give a path in an existing folder (nothing was run)")
    return path


def merge_parameters(
    params: tuple, raw_params: tuple, files: tuple, yaml_texts: tuple, base64_texts: tuple,
) -> tuple[dict[str, Any], set[str]]:
    """Every parameter source merged as papermill merges them.

    Returns
    -------
    (values, texts)
        Name -> value, and the names whose value is command-line text to be parsed (``-p``).

    Raises
    ------
    ParameterError
        For a YAML string, base64 text or file that is not a mapping of names to values.
    """
    from ..params.coerce import RawText
    from ..params.files import load_parameter_file, parameter_mapping

    values: dict[str, Any] = {}
    for number, text in enumerate(base64_texts, start=1):
        values.update(parameter_mapping(_decode_base64(text, number), f"-b value {number}"))
    for path in files:
        values.update(load_parameter_file(path))
    for number, text in enumerate(yaml_texts, start=1):
        values.update(parameter_mapping(text, f"-y value {number}"))
    texts: set[str] = set()
    for name, value in params:
        values[name] = value
        texts.add(name)
    for name, value in raw_params:
        values[name] = RawText(value)  # text that stays text: a str value, never parsed
        texts.discard(name)
    return values, texts


def _decode_base64(text: str, number: int) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise ParameterError(
            f"-b value {number}: not base64-encoded UTF-8 text; encode the YAML with"
            " `base64`") from None
