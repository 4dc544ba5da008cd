"""Content-hash caching of steps: the key of a step, and why a step would run.

A step's key covers everything that can change its result: its code (the notebook's code
cells, or the step function and the module code around it), the project modules that code
reaches through its imports (exported helpers, ``mylib``; see ``reach``), its effective
parameters, the content hashes of its input files (declared ones, and the ones its last run
was seen reading, for notebook and function steps alike), the keys of the steps it depends on
(so a change upstream reaches every step downstream), and an environment fingerprint (Python,
platform, installed distributions). Outputs are not part of the key: they are what the cache
restores.
"""

from __future__ import annotations

import ast
import functools
import hmac
import json
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..distributions import metadata_folders
from ..store.hashing import hash_bytes
from ..syntax import parse

__all__ = ["KeyParts", "code_hash_of_function", "code_hash_of_notebook", "environment_fingerprint",
           "explain", "hash_json", "parameters_hash"]

MISSING = "missing"


@dataclass(frozen=True)
class KeyParts:
    """The parts of a step's cache key, kept in its receipt so ``status`` can say what changed."""

    code: str
    parameters: str
    inputs: Mapping[str, str] = field(default_factory=dict)
    upstream: Mapping[str, str] = field(default_factory=dict)
    environment: str = ""
    reached: Mapping[str, str] = field(default_factory=dict)  # "module:name" -> code hash

    @property
    def key(self) -> str:
        return hash_json(asdict(self))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["inputs"] = dict(self.inputs)
        data["upstream"] = dict(self.upstream)
        data["reached"] = dict(self.reached)
        data["key"] = self.key
        return data


def hash_json(value: Any) -> str:
    """The content hash of JSON data, independent of key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    return hash_bytes(text.encode("utf-8"))


def parameters_hash(values: Mapping[str, Any], secret: set[str]) -> str:
    """The hash of a step's parameters in its key. A secret parameter (``secret``: the names
    ``nbprod.params.redact.secret_parameters`` gives) counts by a keyed hash of its value under
    this machine's salt (``secret_salt``): a new token still reruns the step, but the hash
    kept in the receipt cannot be checked against guessed passwords by anyone who only has
    the store."""
    if not secret:
        return hash_json(values)
    salt = secret_salt()
    return hash_json({name: hmac.new(salt, json.dumps(value, sort_keys=True, default=repr)
                                     .encode("utf-8"), "sha256").hexdigest()
                      if name in secret else value for name, value in values.items()})


@functools.lru_cache(maxsize=1)
def secret_salt() -> bytes:
    """32 random bytes kept in nbprod's cache folder (``secret-salt``, readable by the user
    only), made on first use; outside any project and its run store. When it cannot be
    written, a salt for this process only: the keys of steps with secret parameters then
    change at every run, which reruns them rather than risking a guessable hash."""
    from ..fsutil import atomic_write, default_cache_folder

    path = default_cache_folder() / "secret-salt"
    try:
        salt = path.read_bytes()
        if len(salt) == 32:
            return salt
    except OSError:
        pass
    salt = os.urandom(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, salt, mode=0o600)
    except OSError:
        pass
    return salt


def code_hash_of_notebook(nb_node: Any) -> str:
    """Hash of a notebook's code cells only: saving outputs or editing markdown keeps the key."""
    sources = [
        cell.get("source", "") if isinstance(cell.get("source"), str)
        else "".join(cell.get("source", []))
        for cell in nb_node.get("cells", [])
        if cell.get("cell_type") == "code"
    ]
    return hash_json(sources)


def code_hash_of_function(module_source: str, function: str, other_steps: set[str]) -> str:
    """Hash of one step function plus the module code that is not another step's function.

    Editing one step of a generated step module therefore re-runs that step (and what depends
    on it), not its siblings; editing a shared import or helper re-runs them all.
    """
    try:
        tree = parse(module_source)
    except SyntaxError:
        return hash_bytes(module_source.encode("utf-8"))
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            node.name in other_steps and node.name != function
        ):
            continue
        parts.append(ast.get_source_segment(module_source, node) or ast.dump(node))
    return hash_json(parts)


@functools.lru_cache(maxsize=1)
def environment_fingerprint() -> str:
    """Python, platform and every installed distribution with its version, as one hash.

    Distributions are read from the names of their metadata folders
    (``nbprod.distributions``): parsing every distribution's metadata costs seconds with a
    few hundred installed, and the folder names carry the same facts.
    """
    return hash_json({
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "platform": [platform.system(), platform.machine()],
        "packages": metadata_folders(),
    })


def _describe_code(where: str) -> str:
    """``"wine.train:train"`` as a reader says it: "`train` in wine.train"."""
    module, _, name = where.partition(":")
    if name == "*":
        return f"module {module}"
    if name == "<module>":
        return f"top-level code of {module}"
    return f"`{name}` in {module}"


def explain(current: KeyParts, previous: Mapping[str, Any] | None,
            rerunning: Mapping[str, str] | None = None) -> str | None:
    """Why a step would run, or None when it is cached.

    Parameters
    ----------
    current:
        The key parts now.
    previous:
        ``receipt["cache"]`` of the step's last successful run, if any.
    rerunning:
        Upstream steps that will run, with their reasons (their new keys are not known yet).

    Returns
    -------
    str | None
        A short reason ("code changed", "input data/a.csv changed" ...), None if cached.
    """
    for name in current.upstream:
        if rerunning and name in rerunning:
            return f"upstream step {name!r} will run"
    if previous is None:
        return "never ran"
    if previous.get("key") == current.key:
        return None
    if previous.get("code") != current.code:
        return "code changed"
    old_reached = previous.get("reached", {})
    for where, digest in current.reached.items():
        if old_reached.get(where) != digest:
            return _describe_code(where) + (" changed" if where in old_reached else " is new")
    for where in old_reached:
        if where not in current.reached:
            return _describe_code(where) + " is no longer used"
    if previous.get("parameters") != current.parameters:
        return "parameters changed"
    old_inputs = previous.get("inputs", {})
    for path, digest in current.inputs.items():
        if old_inputs.get(path) != digest:
            return f"input {path} " + ("is missing" if digest == MISSING else "changed")
    for path in old_inputs:
        if path not in current.inputs:
            return f"input {path} is no longer read"
    if previous.get("upstream") != dict(current.upstream):
        return "an upstream step changed"
    if previous.get("environment") != current.environment:
        return "environment changed (Python or installed packages)"
    return "cache key changed"
