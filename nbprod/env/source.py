"""A project's source tree at a recorded commit, for locking a local install as the run had it.

An editable install of the project itself changes with every edit, so its version number says
nothing. When the receipt's git state shows the project clean at a commit, that commit is the
exact source the run imported: ``checkout`` extracts it (``git archive``, no work tree touched)
into ``<cache>/sources/<commit>/``, once, and the lock installs the package from there.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

__all__ = ["checkout"]

_GIT_TIMEOUT_S = 120


def checkout(repository: Path, commit: str, cache: Path) -> Path | None:
    """The tree of ``commit`` of the git repository at ``repository``, extracted under
    ``cache``; None when git cannot give it (the commit is gone, git is missing)."""
    target = cache / "sources" / commit
    if target.is_dir():
        return target
    try:
        done = subprocess.run(["git", "-C", str(repository), "archive", "--format=tar", commit],
                              capture_output=True, timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".nbprod-tmp-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            # The "data" filter (no links out of the folder, no devices) where Python has it.
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(work, **safe)
        try:
            os.replace(work, target)
        except OSError:  # extracted by another process meanwhile: the same tree
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
