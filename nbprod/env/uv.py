"""Running uv: where its binary is, where its cache goes, what its errors mean.

uv is a Python dependency of nbprod's ``run`` extra (the ``uv`` wheel ships the binary), so no
separate install is needed. Its download cache lives under nbprod's cache folder unless the user
set ``UV_CACHE_DIR`` (then uv's own setting wins, as uv users expect).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import MissingDependencyError

__all__ = ["UvFailure", "cause", "run_uv", "uv_binary"]


class UvFailure(Exception):
    """uv exited non-zero; ``stderr`` says why (callers turn it into an nbprod error)."""

    def __init__(self, args: list[str], stderr: str):
        super().__init__(stderr)
        self.args_ = args
        self.stderr = stderr


def uv_binary() -> str:
    """The uv executable: the one the ``uv`` wheel installed, else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise MissingDependencyError("uv", "run", "building a run's environment")


def run_uv(args: list[str], *, cache: Path, cwd: Path | None = None) -> str:
    """Run ``uv ARGS`` quietly; return its stdout, raise ``UvFailure`` on a non-zero exit."""
    env = {**os.environ, "UV_NO_PROGRESS": "1", "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)  # the target is always given explicitly
    env.setdefault("UV_CACHE_DIR", str(cache / "uv"))
    command = [uv_binary(), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd,
                          check=False)
    if done.returncode != 0:
        raise UvFailure(command, done.stderr)
    return done.stdout


def cause(stderr: str) -> str:
    """uv's explanation in one line: the resolver's "Because ..." sentence when there is one,
    else its first error line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    joined = " ".join(lines)
    match = re.search(r"(Because .*?)(?: And because | hint:|$)", joined)
    if match:
        text = match.group(1).rstrip(" ,.")
        text = re.sub(r",? (?:and )?(?:so )?we can conclude that .*$", "", text)
        text = re.sub(r" and you require [^,]*$", "", text)
        return text.removeprefix("Because ")
    for line in lines:
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[0] if lines else "uv failed without a message"
