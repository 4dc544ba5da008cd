"""Run ``python -m nbprod <command> --output-format json`` without blocking the server.

The handlers return exactly the JSON the CLI prints, so they call the CLI itself, as an
asyncio subprocess in the server root, rather than re-implementing its option handling. The
exit code says how to answer: 0 and 1 carry JSON (1 means findings or a failed notebook),
2 is the user's mistake, 3 and anything else is the machinery's.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from dataclasses import dataclass

__all__ = ["CliResult", "CliFailure", "run_nbprod", "interpret", "sanitize", "start_nbprod"]

DEFAULT_TIMEOUT_S = 300.0

# An absolute POSIX path token, not preceded by a word character (so "a/b" is left alone).
_ABSOLUTE = re.compile(r"(?<![\w.~])/(?:[^\s'\"/:,;()\[\]]+/)*([^\s'\"/:,;()\[\]]*)")


@dataclass(frozen=True)
class CliResult:
    """What one ``nbprod`` process left behind."""

    exit_code: int
    stdout: str
    stderr: str


class CliFailure(Exception):
    """Raised when a CLI call cannot be answered with its JSON; carries the HTTP answer."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def child_environment() -> dict[str, str]:
    """The environment for child processes: the server's, minus its credentials."""
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_TOKEN", "JPY_API_TOKEN")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def start_nbprod(args: list[str], *, cwd: str,
                       lifeline: bool = False) -> asyncio.subprocess.Process:
    """Start ``python -m nbprod ARGS`` in its own process group (so cancel reaches its kernel).

    With ``lifeline`` (the background jobs), its standard input is a pipe this server never
    writes to: when the server ends, however it ends, the pipe closes and the job stops itself
    (``nbprod.cli.lifeline``), so a run never outlives the server that started it. Short
    commands have a timeout instead, and their input stays closed.
    """
    from ..cli.lifeline import LIFELINE_ENV

    env = child_environment()
    if lifeline:
        env[LIFELINE_ENV] = "stdin"
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nbprod",
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE if lifeline else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


def terminate_group(process: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the process group ``process`` leads; ignore a group already gone."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def run_nbprod(args: list[str], *, cwd: str, timeout: float = DEFAULT_TIMEOUT_S) -> CliResult:
    """Run ``python -m nbprod ARGS`` in ``cwd`` and collect its output.

    Parameters
    ----------
    args:
        Command-line arguments after ``nbprod`` (paths already validated and relative).
    cwd:
        The server root.
    timeout:
        Seconds before the process group is terminated.

    Returns
    -------
    CliResult

    Raises
    ------
    CliFailure
        504 when the command ran longer than ``timeout``.
    """
    process = await start_nbprod(args, cwd=cwd)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        terminate_group(process)
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            terminate_group(process, signal.SIGKILL)
            await process.wait()
        raise CliFailure(
            504, "Timeout", f"nbprod {args[0]} took longer than {timeout:.0f} s and was stopped"
        ) from None
    return CliResult(process.returncode or 0, out.decode("utf-8", "replace"),
                     err.decode("utf-8", "replace"))


def sanitize(text: str, root: str) -> str:
    """Remove the server root and any other absolute path (keeping the file name) from ``text``."""
    real = os.path.realpath(root)
    for prefix in {real, os.path.abspath(root)}:
        text = text.replace(prefix + os.sep, "").replace(prefix, ".")
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        text = text.replace(home + os.sep, "")
    return _ABSOLUTE.sub(lambda m: m.group(1) or "<path>", text)


#: The store's refusal of a run id that names no run (``nbprod.store.queries``), or of any
#: run id where there is no store yet.
_UNKNOWN_RUN = re.compile(r"no run '[^']*' in |no run store at ")


def error_line(stderr: str) -> str | None:
    """The message of the last ``error: ...`` (nbprod) or ``Error: ...`` (click) line."""
    for line in reversed(stderr.splitlines()):
        stripped = line.strip()
        if stripped.lower().startswith("error:"):
            return stripped[len("error:"):].strip()
    return None


def interpret(result: CliResult, *, root: str, command: str) -> object:
    """Turn a finished CLI call into its JSON data, or raise the HTTP answer for it.

    Parameters
    ----------
    result:
        The finished process.
    root:
        The server root, stripped from error messages.
    command:
        The command name, used in messages.

    Returns
    -------
    object
        The parsed JSON the CLI printed (for exit codes 0 and 1).

    Raises
    ------
    CliFailure
        400 for exit code 2 (a user error; 404 for a run id that names no run), 500 for 3, a
        crash, or output that is not JSON.
    """
    code = result.exit_code
    if code in (0, 1):
        try:
            return json.loads(result.stdout)
        except ValueError:
            raise CliFailure(
                500, "BadOutput", f"nbprod {command} did not print JSON; see the server log"
            ) from None
    message = error_line(result.stderr)
    if code == 2 and message and _UNKNOWN_RUN.match(message):
        raise CliFailure(404, "NotFound", sanitize(message, root))
    if code == 2 and "Traceback (most recent call last)" not in result.stderr and message:
        raise CliFailure(400, "NbprodError", sanitize(message, root))
    if code == 3 and message:
        raise CliFailure(500, "InfrastructureError", sanitize(message, root))
    raise CliFailure(
        500, "InternalError", f"nbprod {command} failed unexpectedly; see the server log"
    )
