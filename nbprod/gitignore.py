"""What git ignores: the untracked files a project's ``.gitignore`` files leave out.

``nbprod lint``'s folder search and ``pytest --nbprod``'s collection leave those notebooks out
(executed copies, downloads, scratch work), as ruff does for Python files. git itself is
asked, so the rules are git's own (nested ``.gitignore`` files, ``.git/info/exclude``, the
user's global excludes file); a tracked file is never ignored.
"""

from __future__ import annotations

import os

__all__ = ["git_ignored", "git_work_tree"]


def git_ignored(folder: str) -> frozenset[str] | None:
    """The untracked files and folders under ``folder`` that git ignores, as normalised
    paths joined to ``folder`` as given; a folder is one entry. None outside a git work
    tree, or when git cannot say (not installed, a repository it refuses): then nothing is
    left out."""
    if git_work_tree(folder) is None:
        return None
    import subprocess

    try:
        answer = subprocess.run(
            ["git", "-C", folder, "ls-files", "-z", "--others", "--ignored",
             "--exclude-standard", "--directory"],
            capture_output=True, timeout=60, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if answer.returncode != 0:
        return None
    return frozenset(os.path.normpath(os.path.join(folder, os.fsdecode(name)))
                     for name in answer.stdout.split(b"\0") if name)


def git_work_tree(folder: str) -> str | None:
    """The nearest folder at or above ``folder`` that holds ``.git`` (a folder, or the file of
    a worktree or submodule), else None: a few stat calls, where starting git would cost
    milliseconds."""
    current = os.path.abspath(folder)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
