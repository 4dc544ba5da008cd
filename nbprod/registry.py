"""One small registry for the things third parties can add: lint rules, exporters, executors.

Built-ins are registered explicitly in code (so nothing goes stale in editable installs);
third parties use entry points, which are loaded lazily on the first lookup, never at import.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .config import suggest
from .errors import ConfigError, PluginError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind, plus those that entry points in ``group`` provide.

    Parameters
    ----------
    kind:
        What the registry holds, for messages ("lint rule", "exporter").
    group:
        The entry-point group third parties register under (``nbprod.rules``).
    key_pattern:
        A regular expression third-party keys must match (rule codes), or None.
    """

    def __init__(self, kind: str, group: str, key_pattern: str | None = None):
        self.kind = kind
        self.group = group
        self._key_re = re.compile(key_pattern) if key_pattern else None
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._plugins_loaded = False

    def register(self, key: str, item: T, *, aliases: tuple[str, ...] = ()) -> T:
        """Add ``item`` under ``key`` (and ``aliases``); a duplicate key is an error."""
        for name in (key, *aliases):
            if name in self._items or name in self._aliases:
                raise PluginError(f"{self.kind} {name!r} is registered twice")
        self._items[key] = item
        for alias in aliases:
            self._aliases[alias] = key
        return item

    def get(self, key: str) -> T:
        """The item called ``key`` (or an alias of it).

        Raises
        ------
        ConfigError
            When nothing is registered under that name, with a did-you-mean.
        """
        self._load_plugins()
        key = self._aliases.get(key, key)
        try:
            return self._items[key]
        except KeyError:
            choices = [*self._items, *self._aliases]
            raise ConfigError(
                f"unknown {self.kind} {key!r}{suggest(key, choices)}"
            ) from None

    def __contains__(self, key: str) -> bool:
        self._load_plugins()
        return key in self._items or key in self._aliases

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load_plugins()
        yield from sorted(self._items.items())

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        if not may_declare(self.group):
            return
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            dist = getattr(ep.dist, "name", "?")
            if self._key_re and not self._key_re.fullmatch(ep.name):
                raise PluginError(
                    f"{self.kind} {ep.name!r} from distribution {dist!r} (entry point"
                    f" {ep.value}) has an invalid name; it must match {self._key_re.pattern}"
                )
            try:
                loaded: Callable[[], T] | T = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"cannot load {self.kind} {ep.name!r} from distribution {dist!r}"
                    f" (entry point {ep.value}): {type(exc).__name__}: {exc}"
                ) from None
            self.register(ep.name, loaded)  # type: ignore[arg-type]


def may_declare(group: str) -> bool:
    """Whether any distribution on ``sys.path`` may declare entry points in ``group``.

    Importing ``importlib.metadata`` (it imports the email package) and reading every
    distribution's metadata costs about 20 ms, a fifth of a command's start-up, wasted when no
    plug-in is installed, which is the usual case. This looks only for the group's name in
    the ``entry_points.txt`` files of the ``*.dist-info`` and ``*.egg-info`` folders on the
    path; anything it cannot look into (a zip archive on the path) counts as a maybe, so
    ``importlib.metadata`` still decides whenever a plug-in could be there. The answer is
    kept for the path as it is (a lint asks several times).
    """
    return _declared_on(group, tuple(entry or os.getcwd() for entry in sys.path))


@functools.lru_cache(maxsize=16)
def _declared_on(group: str, path: tuple[str, ...]) -> bool:
    for folder in path:
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return True
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), "rb") as handle:
                    if group.encode() in handle.read():
                        return True
            except OSError:
                continue
    return False

