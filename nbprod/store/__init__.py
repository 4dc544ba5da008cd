"""The run store: a SQLite index plus content-addressed objects under ``<project>/.nbprod/``.

Layout::

    .nbprod/
      store.sqlite             index of runs, objects, files each run read/wrote, the stat cache
      objects/ab/cdef...       content-addressed blobs (blake3), read-only
      runs/<run_id>/           receipt.json (written last, atomically), output.ipynb

A run is inserted as ``running`` (with pid, host and a heartbeat) before it starts, and its
receipt is written atomically and then indexed when it ends; a run whose process died is marked
``interrupted`` by the next command that looks. The receipt file is the source of truth; the
index can be rebuilt from it (``nbprod store verify --repair``).

``Store`` is the one object callers hold; its jobs live in their own modules: ``runs`` (the
run lifecycle and receipts), ``queries`` (finding runs), ``intake`` (storing files as
objects), ``verify`` (checking and repairing the whole store).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import load_project_config
from ..errors import StoreError
from ..fsutil import atomic_write
from .config import DEFAULT_STORE_DIR, StoreConfig
from .db import Database
from .hashing import StatCache
from .intake import ObjectIntake
from .objects import ObjectStore
from .queries import RunQueries
from .runs import (
    FINAL_STATUSES,
    KINDS,
    LEASE_SECONDS,
    RECEIPT_SCHEMA,
    STATUSES,
    RunHandle,
    RunLog,
)

if TYPE_CHECKING:
    from .verify import VerifyReport

__all__ = [
    "FINAL_STATUSES",
    "KINDS",
    "LEASE_SECONDS",
    "RECEIPT_SCHEMA",
    "RunHandle",
    "STATUSES",
    "Store",
    "StoreConfig",
    "StoreNotFoundError",
    "open_project_store",
]


class StoreNotFoundError(StoreError):
    """Raised when a command that only reads finds no store (it never creates one).

    ``elsewhere`` lists stores found where ``nbprod run`` would have put the runs of a
    notebook in another folder (a folder above, or a subfolder): the message names them.
    """

    def __init__(self, message: str, elsewhere: tuple[Path, ...] = ()):
        super().__init__(message)
        self.elsewhere = elsewhere


class Store(RunLog, RunQueries, ObjectIntake):
    """One project's run store. Safe to use from many processes and threads at once."""

    def __init__(self, root: Path, path: Path, config: StoreConfig):
        self.root = root
        self.path = path
        self.config = config
        self.db = Database(path / "store.sqlite")
        self.objects = ObjectStore(path / "objects")
        self.cache = StatCache(self.db)
        self.runs_path = path / "runs"

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        project_root: str | os.PathLike,
        store_dir: str | os.PathLike | None = None,
        config: StoreConfig | None = None,
        *,
        create: bool = True,
    ) -> Store:
        """Open (and by default create) the store of the project at ``project_root``.

        Parameters
        ----------
        project_root:
            The project folder; receipt data paths are relative to it.
        store_dir:
            The store folder; default ``<project_root>/<config.path>`` (``.nbprod``).
        config:
            ``[tool.nbprod.store]`` settings; defaults when None.
        create:
            When False, a missing store is an error instead of being created (a store folder
            whose index was moved aside gets a new, empty index: ``verify --repair`` refills
            it from the receipts).

        Raises
        ------
        StoreError
            When the store folder cannot be created, is missing (``create=False``), or its
            index is damaged or from a newer nbprod.
        """
        root = Path(project_root).resolve()
        config = config or StoreConfig()
        path = Path(store_dir) if store_dir is not None else Path(config.path)
        if not path.is_absolute():
            path = (Path.cwd() if store_dir is not None else root) / path
        path = path.resolve()
        if not create and not ((path / "store.sqlite").is_file() or (path / "runs").is_dir()):
            raise StoreNotFoundError(
                f"no run store at {path}; run a notebook with 'nbprod run' first,"
                " or point --store at an existing store folder"
            )
        try:
            for folder in (path, path / "objects", path / "runs"):
                folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(
                f"{path} exists and is not a folder; cannot use it as a run store"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot create the run store {path}: {exc.strerror}") from None
        ignore = path / ".gitignore"
        if not ignore.exists():
            # Keep runs, objects and the index out of git without touching the user's .gitignore.
            atomic_write(ignore, "# created by nbprod: the run store is not versioned\n*\n")
        return cls(root, path, config)

    def close(self) -> None:
        """Close the index connection."""
        self.db.close()

    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id`` (a unique prefix is accepted)."""
        return self.runs_path / self.resolve_run_id(run_id)

    # -- checking ---------------------------------------------------------------------------

    def verify(self, rehash: bool = False, repair: bool = False) -> VerifyReport:
        """Check the whole store; see ``nbprod.store.verify.verify_store``."""
        from .verify import verify_store

        return verify_store(self, rehash=rehash, repair=repair)


def open_project_store(
    start: str | os.PathLike = ".",
    store_dir: str | os.PathLike | None = None,
    *,
    create: bool = True,
) -> Store:
    """Open the store of the project containing ``start`` (a notebook or a folder).

    The project root is the folder of the nearest pyproject.toml (else ``start`` itself, or
    a notebook's folder); ``[tool.nbprod.store]`` configures the store and ``store_dir``
    (``--store``) overrides its path. With ``create=False`` and no store there, the error
    names any store found above the root or up to two folders below it (where ``nbprod run``
    keeps the runs of a notebook in another folder).

    Raises
    ------
    StoreError, ConfigError
    """
    project = load_project_config(start)
    config = project.section("store", StoreConfig)
    try:
        return Store.open(project.root, store_dir=store_dir, config=config, create=create)
    except StoreNotFoundError:
        if store_dir is not None:
            raise
        elsewhere = _stores_nearby(project.root)
        if not elsewhere:
            raise
        raise StoreNotFoundError(_elsewhere_message(project.root / config.path, elsewhere),
                                 elsewhere) from None


#: Folders not searched for a store: environments, caches, dependencies.
_SKIPPED = {"node_modules", "__pycache__", "venv", "site-packages"}


def _has_store(folder: Path) -> bool:
    return (folder / DEFAULT_STORE_DIR / "store.sqlite").is_file()


def _stores_nearby(root: Path, depth: int = 2, budget: int = 2000) -> tuple[Path, ...]:
    """Stores ``nbprod run`` may have made for notebooks outside the project at ``root``:
    in a folder above it (up to ``NBPROD_CEILING_DIRECTORIES``), and in its subfolders up to
    ``depth`` levels down (a notebook's folder, or a subproject with its own pyproject.toml).
    At most ``budget`` folders are looked at."""
    ceilings = {Path(p).resolve() for p in
                os.environ.get("NBPROD_CEILING_DIRECTORIES", "").split(os.pathsep) if p}
    found: list[Path] = []  # the nearest first: below, then above
    level = [root]
    for _ in range(depth):
        below = []
        for folder in level:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir()
                                  and not p.name.startswith(".") and p.name not in _SKIPPED)
            except OSError:
                continue
            budget -= len(children)
            below += children
        found += [child / DEFAULT_STORE_DIR for child in below if _has_store(child)]
        if budget <= 0:
            break
        level = below
    if root not in ceilings:
        for folder in root.parents:
            if _has_store(folder):
                found.append(folder / DEFAULT_STORE_DIR)
            if folder in ceilings:
                break
    return tuple(found)


def _elsewhere_message(path: Path, elsewhere: tuple[Path, ...]) -> str:
    shown = ", ".join(_relative(p) for p in elsewhere[:3]) + (", ..." if len(elsewhere) > 3
                                                               else "")
    first = _relative(elsewhere[0])
    there = "there is one at" if len(elsewhere) == 1 else "there are run stores at"
    return (f"no run store at {_relative(path)}, but {there} {shown} (nbprod run keeps"
            " a notebook's runs at its project root: the folder of the nearest pyproject.toml"
            f" above the notebook, else the notebook's own folder); pass --store {first}, or"
            f" run the command from {_relative(elsewhere[0].parent)}")


def _relative(path: Path) -> str:
    """``path`` relative to the current directory when it is inside it or near it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)

