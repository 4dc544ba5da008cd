"""``nbprod.record_model(name, model, training_data=X)``: a notebook keeps a model with its run.

Inside a run the model is serialised (``store.model_bytes.dump_model``) into the run folder's
``models/`` and described by one line of ``models.jsonl`` (hash, format, class, the profile of
``training_data``); when the run ends the runner copies each file into the content-addressed
store and lists it under ``receipt["models"]`` (``collect_models``), beside the parameters,
code, data hashes, environment and records of the same run. Outside a run it warns once, as
``nbprod.record`` does, so the notebook works unchanged in plain Jupyter. In a pipeline's
function step the entry and the serialised model are kept in memory (``record.recording``)
and travel back with the step's result; the client stores the model and lists it in the
step's receipt.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

from .record import RECORDS_ENV, active_recording, read_json_lines

__all__ = ["MODELS_FILE", "NAME_RE", "check_model_name", "collect_models", "model_entry",
           "record_model"]

MODELS_FILE = "models.jsonl"
#: A model name: a letter or digit, then letters, digits, ``_``, ``.`` and ``-`` (no ``@``).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_warned = False


def record_model(name: str, model: Any, training_data: Any = None) -> None:
    """Keep ``model`` in the run store with the receipt of the current run.

    Parameters
    ----------
    name:
        What services call the model (``nbprod serve --model NAME``, aliases ``NAME@label``).
    model:
        The fitted model. scikit-learn models are saved with skops, others with joblib.
    training_data:
        The DataFrame of the rows the model was fitted on, as the ``serve`` cell's ``predict``
        receives them. Its profile (columns, dtypes, nullability, ranges, categories) becomes
        the service's request schema and the reference for drift; without it the service
        cannot validate requests.

    Raises
    ------
    TypeError, ValueError
        A bad name, or training data that is not a DataFrame of numbers, booleans and
        categories.
    """
    global _warned
    check_model_name(name, "nbprod.record_model")
    kept = active_recording()
    if kept is not None:  # a function step of a pipeline: the model goes back with its result
        data, entry = model_entry(name, model, training_data)
        kept.models[name] = (entry, data)
        return
    target = os.environ.get(RECORDS_ENV)
    if not target:
        from .training_profile import profile_frame

        if training_data is not None:
            profile_frame(training_data)  # the same errors in plain Jupyter as in a run
        if not _warned:
            warnings.warn("nbprod.record_model: not inside an nbprod run, the model is not kept",
                          stacklevel=2)
            _warned = True
        return
    data, line = model_entry(name, model, training_data)
    run_dir = Path(target).parent
    folder = run_dir / "models"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    line = {**line, "file": f"models/{name}"}
    with open(run_dir / MODELS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, allow_nan=False) + "\n")


def check_model_name(name: Any, where: str) -> None:
    """Raise ValueError unless ``name`` can name a model (``NAME_RE``)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(
            f"{where}: {name!r} is not a model name; use letters, digits, '_', '.'"
            " and '-' (starting with a letter or digit)"
        )


def model_entry(name: str, model: Any, training_data: Any = None) -> tuple[bytes, dict]:
    """The serialised model and its receipt entry (hash, size, format, class, the profile of
    ``training_data``): what a notebook's ``record_model`` and a pipeline step's model
    (``[tool.nbprod.pipeline.models]``) both keep.

    Raises
    ------
    TypeError, ValueError
        Training data that is not a DataFrame of numbers, booleans and categories.
    """
    from ..store.hashing import hash_bytes
    from ..store.model_bytes import dump_model
    from .training_profile import profile_frame

    profile = profile_frame(training_data) if training_data is not None else None
    data, info = dump_model(model)
    cls = type(model)
    entry = {
        "name": name, "hash": hash_bytes(data), "bytes": len(data), **info,
        "class": f"{cls.__module__}.{cls.__qualname__}", "profile": profile,
    }
    return data, entry


def collect_models(run_dir: Path, store: Any) -> list[dict]:
    """Move the models a run recorded into ``store``; their receipt entries, by name.

    A model whose file is missing or no longer has the hash its line recorded (the kernel
    died while writing) is left out. The copies in the run folder are removed once stored.
    """
    entries = {line["name"]: line for line in read_json_lines(run_dir / MODELS_FILE, "name")}
    kept = []
    for line in entries.values():
        source = run_dir / str(line.get("file", ""))
        if not source.is_file() or store.put_file(source) != line.get("hash"):
            continue
        kept.append({k: v for k, v in line.items() if k != "file"})
    for name in entries:
        (run_dir / "models" / name).unlink(missing_ok=True)
    return sorted(kept, key=lambda entry: entry["name"])
