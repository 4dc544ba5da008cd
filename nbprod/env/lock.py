"""A run's environment as a lock: which distributions to pin, resolved into standard lock files.

``plan_for`` reads the receipt only (no network): the distributions the run needed, each pinned
to its recorded version; those named in ``upgrade`` left free (their newest version); local and
editable installs given as their folder, with a note saying what that means. ``compile_lock``
hands the plan to uv's resolver, which checks that the pins exist on the index and fit together
and writes ``requirements.txt`` (with hashes) and ``pylock.toml`` (PEP 751). The other recorded
distributions go in as constraints, so a requirement the resolver adds (an extra) gets the
recorded version too.

Locks are cached by the plan's content, so reproducing the same run again resolves nothing;
``upgrade`` locks are resolved again each time (the newest version moves).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import InfrastructureError, LockError
from ..store.environment import DEFAULT_INDEX, canonical_name
from .uv import UvFailure, cause, run_uv

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Lock", "Plan", "Sources", "compile_lock", "plan_for"]

#: What an isolated environment always needs: the kernel.
KERNEL_PACKAGE = "ipykernel"


@dataclass(frozen=True)
class Sources:
    """Where distributions come from: an index (default: the one the run recorded), extra
    local folders of wheels (``--find-links``), or local folders only (``no_index``);
    ``offline`` forbids the network (uv's cache and the folders only)."""

    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    offline: bool = False

    def uv_args(self, recorded_index: str | None = None) -> list[str]:
        args: list[str] = []
        index = self.index_url or recorded_index
        if self.no_index:
            args.append("--no-index")
        elif index and index.rstrip("/") != DEFAULT_INDEX:
            args += ["--default-index", index]
        for folder in self.find_links:
            args += ["--find-links", str(Path(folder).resolve())]
        if self.offline:
            args.append("--offline")
        return args


@dataclass(frozen=True)
class Plan:
    """What to lock for one run: requirement lines, constraint lines, the Python version."""

    run_id: str
    python: str
    requirements: tuple[str, ...]
    constraints: tuple[str, ...]
    index_url: str | None
    upgrade: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def key(self, sources: Sources) -> str:
        text = json.dumps([self.python, self.requirements, self.constraints,
                           sources.uv_args(self.index_url)])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Lock:
    """A compiled lock: its two files' text and the folder holding them."""

    plan: Plan
    folder: Path
    requirements_txt: str
    pylock_toml: str

    @property
    def key(self) -> str:
        """Identifies the environment the lock describes (same lock text, same environment)."""
        return hashlib.sha256(f"{self.plan.python}\n{self.pylock_toml}".encode()).hexdigest()

    @property
    def requirements_path(self) -> Path:
        return self.folder / "requirements.txt"

    def versions(self) -> dict[str, str]:
        """Distribution -> version, as locked (local folders have none)."""
        data = tomllib.loads(self.pylock_toml)
        return {canonical_name(p["name"]): str(p.get("version", ""))
                for p in data.get("packages", [])}


def plan_for(receipt: dict, upgrade: tuple[str, ...] | list[str] = (),
             cache: Path | None = None) -> Plan:
    """What to pin for the run of ``receipt``; ``upgrade`` names go unpinned (newest).

    A local install inside the run's git project, clean at a recorded commit, is locked as
    that commit's tree (extracted under ``cache``, default nbprod's cache folder).

    Raises
    ------
    LockError
        When the receipt records no environment, an ``upgrade`` name was not installed, or a
        local package's folder is gone.
    """
    run_id = str(receipt.get("run_id"))
    env = receipt.get("environment") or {}
    packages: dict[str, str] = env.get("packages") or {}
    python = env.get("python")
    if not packages or not python:
        why = env.get("error") or "no environment was recorded"
        raise LockError(f"run {run_id}: its receipt lists no packages ({why}); it cannot be"
                        " locked, run the notebook again with nbprod run")
    wanted = tuple(dict.fromkeys(canonical_name(name) for name in upgrade if name.strip()))
    unknown = [name for name in wanted if name not in packages]
    if unknown:
        raise LockError(f"--upgrade {','.join(unknown)}: run {run_id} did not have"
                        f" {' or '.join(unknown)} installed; name packages it used, e.g."
                        f" {', '.join(list(env.get('needed') or packages)[:3])}")
    notes: list[str] = []
    needed = env.get("needed")
    if needed is None:
        needed = sorted(packages)
        notes.append(f"run {run_id} did not record what its kernel imported: locking all"
                     f" {len(needed)} recorded distributions")
    names = sorted({*needed, *wanted, *([KERNEL_PACKAGE] if KERNEL_PACKAGE in packages else [])})
    sources = env.get("package_sources") or {}
    requirements = []
    for name in names:
        source = sources.get(name) or {}
        if name in wanted:
            requirements.append(name)
        elif source and not source.get("reproducible", True) or source.get("vcs"):
            requirements.append(_direct(run_id, name, packages[name], source, notes,
                                        env.get("git") or {}, cache))
        else:
            requirements.append(f"{name}=={packages[name]}")
    constraints = [f"{name}=={version}" for name, version in packages.items()
                   if name not in names and not (sources.get(name) or {}).get("url")]
    return Plan(run_id, python, tuple(requirements), tuple(sorted(set(constraints))),
                env.get("index_url"), wanted, tuple(notes))


def _direct(run_id: str, name: str, version: str, source: dict, notes: list[str],
            git: dict, cache: Path | None) -> str:
    """The requirement line of a distribution installed from a folder, a file or a VCS."""
    url = str(source.get("url") or "")
    if source.get("vcs") and source.get("commit"):
        return f"{name} @ {source['vcs']}+{url}@{source['commit']}"
    path = Path(unquote(urlsplit(url).path)) if url.startswith("file:") else None
    at_commit = _at_commit(name, version, path, git, cache, notes) if path else None
    if at_commit is not None:
        return f"{name} @ {at_commit.as_uri()}"
    if path is None or not path.exists():
        raise LockError(
            f"run {run_id}: {name} {version} was installed from {url or 'an unknown place'},"
            " which no longer exists; restore that folder, or build a wheel of it and pass"
            f" --find-links DIR with --upgrade {name}"
        )
    kind = "an editable install of" if source.get("editable") else "installed from"
    why = ("the project had uncommitted changes at the run" if _inside(path, git)
           and git.get("dirty") else "it is not a clean git checkout at a recorded commit")
    notes.append(f"{name} {version} is {kind} {path}; the lock uses that folder as it is now"
                 f" ({why}), which may differ from what the run used: commit before running,"
                 " publish it, or pass --find-links DIR with a wheel of it to pin it")
    return f"-e {path}" if source.get("editable") else f"{name} @ {path.as_uri()}"


def _inside(path: Path, git: dict) -> bool:
    root = git.get("root")
    return bool(root) and (path == Path(root) or Path(root) in path.parents)


def _at_commit(name: str, version: str, path: Path, git: dict, cache: Path | None,
               notes: list[str]) -> Path | None:
    """The package's folder in the tree of the run's commit, when the run's project was clean
    and holds the package (the project itself, or a package inside it)."""
    from ..fsutil import default_cache_folder
    from .source import checkout

    commit = git.get("commit")
    if not commit or git.get("dirty") or not _inside(path, git):
        return None
    relative = path.relative_to(git["root"])
    if any(relative in Path(f).parents for f in git.get("untracked") or []
           if f.endswith(".py")):
        return None  # the run may have imported code that no commit holds
    tree = checkout(Path(git["root"]), commit, cache or default_cache_folder())
    if tree is None:
        return None
    folder = tree / relative
    if not folder.is_dir():
        return None
    notes.append(f"{name} {version} is built from {git['root']} at commit {commit[:12]}, the"
                 " source the run used")
    return folder


def compile_lock(plan: Plan, sources: Sources, cache: Path) -> Lock:
    """Resolve ``plan`` with uv into ``requirements.txt`` and ``pylock.toml`` (cached).

    Raises
    ------
    LockError
        When a pinned version does not exist or the pins conflict (the message names the
        package and gives uv's reason), or the index cannot be used.
    InfrastructureError
        When uv itself failed for another reason.
    """
    root = cache / "locks"
    folder = root / plan.key(sources)[:24]
    if not plan.upgrade and (folder / "pylock.toml").is_file():
        return _read(plan, folder)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix=".nbprod-tmp-"))
    try:
        (work / "requirements.in").write_text("\n".join(plan.requirements) + "\n")
        (work / "constraints.txt").write_text("\n".join(plan.constraints) + "\n")
        common = ["pip", "compile", "requirements.in", "-c", "constraints.txt", "--quiet",
                  "--python-version", plan.python, "--no-header", "--no-annotate",
                  *sources.uv_args(plan.index_url)]
        try:
            run_uv([*common, "--generate-hashes", "-o", "requirements.txt"], cache=cache,
                   cwd=work)
            run_uv([*common, "--format", "pylock.toml", "-o", "pylock.toml"], cache=cache,
                   cwd=work)
        except UvFailure as failure:
            raise _lock_error(plan, sources, failure.stderr) from None
        _add_header(work / "requirements.txt", plan)
        if plan.upgrade and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)  # an older "newest"
        try:
            os.replace(work, folder)
        except OSError:  # another process locked the same plan first: same content
            pass
        return _read(plan, folder)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _read(plan: Plan, folder: Path) -> Lock:
    return Lock(plan, folder, (folder / "requirements.txt").read_text(encoding="utf-8"),
                (folder / "pylock.toml").read_text(encoding="utf-8"))


def _add_header(path: Path, plan: Plan) -> None:
    text = path.read_text(encoding="utf-8")
    header = (f"# The environment of nbprod run {plan.run_id} (Python {plan.python}).\n"
              "# Install with: uv pip sync requirements.txt  (or pip install -r ... into a"
              " fresh venv)\n")
    path.write_text(header + text, encoding="utf-8")


_MISSING = re.compile(
    r"\b(?:no version of|versions? of|require|because)\s+([A-Za-z0-9][A-Za-z0-9._-]*)")


def _lock_error(plan: Plan, sources: Sources, stderr: str) -> Exception:
    reason = cause(stderr)
    lowered = stderr.lower()
    if "no solution found" not in lowered and "not found in the package registry" not in lowered:
        if "failed to fetch" in lowered or "network" in lowered or "offline" in lowered:
            where = "the --find-links folders" if sources.no_index else (
                sources.index_url or plan.index_url or DEFAULT_INDEX)
            return LockError(f"run {plan.run_id}: cannot lock its environment: {reason}"
                             f" ({where}); check the network or pass --find-links DIR")
        return InfrastructureError(f"run {plan.run_id}: uv failed while locking: {reason}")
    pins = {canonical_name(re.split(r"[=@ ]", line.removeprefix("-e "), maxsplit=1)[0]): line
            for line in plan.requirements}
    named = next((canonical_name(m.group(1)) for m in _MISSING.finditer(reason)
                  if canonical_name(m.group(1)) in pins), None)
    if named is None:
        return LockError(f"run {plan.run_id}: cannot lock its environment: {reason}")
    where = "the --find-links folders" if sources.no_index else (
        sources.index_url or plan.index_url or DEFAULT_INDEX)
    return LockError(f"run {plan.run_id}: cannot lock {pins[named]}: {reason} ({where}); pass"
                     f" --upgrade {named} to take its newest version, or --find-links DIR with"
                     " a wheel of it")
