"""The model registry: models found in run receipts, and aliases that name one of them.

There is no second database: a model is an entry of ``receipt["models"]`` of a succeeded run,
its bytes an object of the store. Aliases (``wine@champion``) live in ``<store>/aliases.json``,
written atomically, so a service names a model and the alias can move to a better run without
redeploying anything. A reference is resolved by ``resolve``:

    wine@champion      the run the alias points to
    wine               the newest succeeded run that recorded "wine"
    --run ID [NAME]    that run's model (its only one, or NAME)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..fsutil import atomic_write
from ..run.models import NAME_RE

__all__ = ["ALIAS_RE", "ModelRef", "aliases", "list_models", "load", "require_profile", "resolve",
           "set_alias"]

ALIASES_FILE = "aliases.json"
ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class ModelRef:
    """One stored model: its receipt entry and the receipt of the run that made it.

    ``run_dir`` is the run's folder in the store (None for a packaged model, whose receipt
    already holds every parameter value the run used).
    """

    name: str
    run_id: str
    entry: dict
    receipt: dict
    run_dir: Path | None = None

    @cached_property
    def parameters(self) -> dict:
        """Every parameter value the run used: those it was given and its notebook's defaults
        for the others, as ``nbprod runs show`` lists them (``parameters_used``)."""
        given = self.receipt.get("parameters") or {}
        if self.run_dir is None:
            return dict(given)
        from ..run.used_parameters import parameters_used

        return {row["name"]: row["value"] for row in parameters_used(self.receipt, self.run_dir)}

    def summary(self, labels: list[str] | None = None) -> dict:
        """The model as the CLI lists it (JSON data)."""
        return {
            "name": self.name, "run_id": self.run_id, "hash": self.entry.get("hash"),
            "format": self.entry.get("format"), "class": self.entry.get("class"),
            "bytes": self.entry.get("bytes"),
            "notebook": (self.receipt.get("notebook") or {}).get("path"),
            "started": (self.receipt.get("timing") or {}).get("start"),
            "records": self.receipt.get("records") or {},
            "aliases": labels or [],
        }

    def metadata(self) -> dict:
        """What the service reports about its model: where it came from, down to the data."""
        receipt = self.receipt
        environment = receipt.get("environment") or {}
        return {
            "model": {"name": self.name, "hash": self.entry.get("hash"),
                      "format": self.entry.get("format"), "class": self.entry.get("class")},
            "run_id": self.run_id,
            "notebook": receipt.get("notebook"),
            "parameters": self.parameters,
            "data": [{k: d.get(k) for k in ("path", "role", "hash", "bytes")}
                     for d in receipt.get("data") or [] if isinstance(d, dict)],
            "environment": {"python": environment.get("python"),
                            "platform": environment.get("platform"),
                            "packages": environment.get("packages") or {},
                            "git": environment.get("git")},
            "metrics": receipt.get("records") or {},
        }


def _models_of(receipt: dict) -> list[dict]:
    return [m for m in receipt.get("models") or [] if isinstance(m, dict) and m.get("name")]


def list_models(store: Any, name: str | None = None) -> list[ModelRef]:
    """Every model of every succeeded run, newest run first (``name`` filters)."""
    found = []
    for run in store.list_runs(status="succeeded"):
        receipt = store.read_receipt(run["run_id"]) or {}
        for entry in _models_of(receipt):
            if name is None or entry["name"] == name:
                found.append(ModelRef(entry["name"], run["run_id"], entry, receipt,
                                      store.run_dir(run["run_id"])))
    return found


def aliases(store: Any) -> dict[str, str]:
    """``{"wine@champion": run_id}`` from the store's aliases file ({} when none)."""
    try:
        data = json.loads((store.path / ALIASES_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise StoreError(f"{store.path / ALIASES_FILE}: not valid JSON ({exc}); fix or delete"
                         " it and set the aliases again") from None
    return {str(k): str(v) for k, v in (data.get("aliases") or {}).items()}


def set_alias(store: Any, alias: str, run_id: str | None) -> ModelRef | None:
    """Point ``NAME@LABEL`` at the model NAME of ``run_id`` (None removes the alias).

    Raises
    ------
    StoreError
        For a malformed alias, an unknown run, or a run that recorded no model of that name.
    """
    name, label = _split_alias(alias)
    table = aliases(store)
    ref = None
    if run_id is None:
        if alias not in table:
            raise StoreError(f"no alias {alias!r}; 'nbprod models list' shows the aliases")
        del table[alias]
    else:
        ref = _from_run(store, run_id, name)
        table[alias] = ref.run_id
    text = json.dumps({"aliases": dict(sorted(table.items()))}, indent=2) + "\n"
    atomic_write(store.path / ALIASES_FILE, text)
    return ref


def _split_alias(alias: str) -> tuple[str, str]:
    name, _, label = alias.partition("@")
    if not NAME_RE.match(name) or not ALIAS_RE.match(label):
        raise StoreError(
            f"{alias!r} is not an alias; write NAME@LABEL, e.g. wine@champion (letters,"
            " digits, '_', '.', '-')"
        )
    return name, label


def _from_run(store: Any, run_id: str, name: str | None) -> ModelRef:
    receipt = store.get_run(run_id)
    full = receipt["run_id"]
    models = _models_of(receipt)
    if receipt.get("status") != "succeeded":
        raise StoreError(f"run {full} {receipt.get('status')}; only a succeeded run's model"
                         " can be served or aliased")
    names = [m["name"] for m in models]
    if not models:
        raise StoreError(f"run {full} recorded no model; call nbprod.record_model(name, model,"
                         " training_data=X) in the notebook and run it again")
    if name is None and len(models) > 1:
        raise StoreError(f"run {full} recorded models {', '.join(names)}; say which one with"
                         " --model NAME")
    entry = models[0] if name is None else next((m for m in models if m["name"] == name), None)
    if entry is None:
        raise StoreError(f"run {full} recorded no model {name!r}, only {', '.join(names)}")
    return ModelRef(entry["name"], full, entry, receipt, store.run_dir(full))


def resolve(store: Any, model: str | None = None, run: str | None = None,
            notebook: str | None = None) -> ModelRef:
    """The model a service or a command asked for (see the module docstring).

    With neither ``model`` nor ``run``, the newest succeeded run of ``notebook`` that recorded
    a model is used.

    Raises
    ------
    StoreError
        When nothing matches; the message says which command lists what there is.
    """
    if model and "@" in model:
        if run:
            raise StoreError(f"{model!r} names a run by its alias and --run names another;"
                             " give one of them")
        name, _ = _split_alias(model)
        target = aliases(store).get(model)
        if target is None:
            raise StoreError(f"no alias {model!r}; set it with 'nbprod models alias {model} RUN'")
        return _from_run(store, target, name)
    if run:
        return _from_run(store, run, model)
    if model:
        found = list_models(store, model)
        if not found:
            raise StoreError(f"no succeeded run recorded a model {model!r};"
                             " 'nbprod models list' shows the models")
        return found[0]
    candidates = [ref for ref in list_models(store)
                  if notebook is None or _same_notebook(ref, notebook)]
    if not candidates:
        where = f" of {notebook}" if notebook else ""
        raise StoreError(f"no succeeded run{where} recorded a model; run the notebook with"
                         " nbprod run (it must call nbprod.record_model), or give --run ID")
    return candidates[0]


def require_profile(ref: ModelRef) -> None:
    """Refuse a model recorded without the profile of its training data: the service and
    ``nbprod drift`` have nothing to check requests against.

    Raises
    ------
    StoreError
    """
    if not ref.entry.get("profile"):
        raise StoreError(
            f"model {ref.name!r} of run {ref.run_id} was recorded without its training data;"
            " call nbprod.record_model(name, model, training_data=X) and run the notebook"
            " again: requests are checked against it"
        )


def _same_notebook(ref: ModelRef, notebook: str) -> bool:
    recorded = (ref.receipt.get("notebook") or {}).get("path") or ""
    return recorded == notebook or recorded.endswith("/" + notebook.rsplit("/", 1)[-1]) \
        or recorded == notebook.rsplit("/", 1)[-1]


def load(store: Any, ref: ModelRef) -> Any:
    """The model object, loaded from the store after its bytes are checked against the hash
    the receipt recorded (``serialize.load_model``).

    Raises
    ------
    StoreError
        When the object is missing or its bytes do not match.
    """
    from ..store.model_bytes import load_model

    path = store.objects.path_for(ref.entry.get("hash", ""))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"model {ref.name!r} of run {ref.run_id}: its object {path} is"
                         " missing from the store; run the notebook again") from None
    return load_model(data, ref.entry)
