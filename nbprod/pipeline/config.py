"""``[tool.nbprod.pipeline]`` and ``[tool.nbprod.sweep]`` as frozen dataclasses.

A pipeline comes from one of two sources, and the table says which: ``notebook`` names a
notebook whose ``step:<name>`` cells are the steps, or ``[[tool.nbprod.pipeline.steps]]`` lists
notebooks, each run with its own parameters::

    [tool.nbprod.pipeline]
    name = "train"
    executor = "local"        # or "dask" with cluster = "tcp://127.0.0.1:8786"
    max-parallel = 2

    [[tool.nbprod.pipeline.steps]]
    name = "prepare"
    notebook = "notebooks/prepare.ipynb"
    parameters = { rows = 1000 }
    outputs = ["data/clean.csv"]

    [[tool.nbprod.pipeline.steps]]
    name = "train"
    notebook = "notebooks/train.ipynb"
    inputs = ["data/clean.csv"]   # makes "train" run after "prepare"

A step of a ``step:`` notebook can also hand on a model to keep in the run store, as
``nbprod.record_model`` does in a notebook: the value it returns, named here, with the value
the model was fitted on as its training data::

    [tool.nbprod.pipeline.models]
    wine = { value = "model", training-data = "X_train" }
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..config import ProjectConfig, build_section
from ..errors import ConfigError

__all__ = ["ModelConfig", "PipelineConfig", "StepConfig", "SweepConfig", "load_pipeline_config",
           "load_sweep_config"]


@dataclass(frozen=True)
class StepConfig:
    """One ``[[tool.nbprod.pipeline.steps]]`` entry: a notebook run as a pipeline step."""

    name: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineConfig:
    """``[tool.nbprod.pipeline]``: where the steps come from and how they are executed."""

    name: str | None = None
    notebook: str | None = None
    steps: tuple[StepConfig, ...] = ()
    executor: str = "local"
    cluster: str | None = None
    max_parallel: int = 0  # 0: the executor's default (local: two per core)
    retries: int = 2
    timeout: float | None = None  # seconds per notebook step
    image: str = "python:3.11-slim"  # container image of the Kubeflow export
    # Steps cached by their key even though they run processes nbprod cannot watch.
    pinned: tuple[str, ...] = ()
    # Model name -> {value, training-data}: step return values kept as models (ModelConfig).
    models: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelConfig:
    """One ``[tool.nbprod.pipeline.models]`` entry: a step's returned value kept as a model."""

    value: str
    training_data: str | None = None


@dataclass(frozen=True)
class SweepConfig:
    """``[tool.nbprod.sweep]``: defaults of ``nbprod sweep``."""

    mode: str = "grid"
    executor: str = "local"
    cluster: str | None = None
    max_parallel: int = 0
    timeout: float | None = None


def load_pipeline_config(project: ProjectConfig, **overrides: Any) -> PipelineConfig:
    """Build the ``[tool.nbprod.pipeline]`` table, with its step tables checked one by one.

    Raises
    ------
    ConfigError
        For an unknown key (with did-you-mean), a value of the wrong type, or a step table
        without ``name`` or ``notebook``.
    """
    config = project.section("pipeline", PipelineConfig, **overrides)
    where = f"{project.pyproject or 'pyproject.toml'} [[tool.nbprod.pipeline.steps]]"
    steps = []
    for number, table in enumerate(config.steps, start=1):
        if isinstance(table, StepConfig):
            steps.append(table)
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{where} entry {number} must be a table")
        for required in ("name", "notebook"):
            if required not in table:
                raise ConfigError(f"{where} entry {number}: missing key {required!r}")
        steps.append(build_section(StepConfig, table, f"{where} entry {number}"))
    _check_executor(config.executor)
    if config.max_parallel < 0:
        raise ConfigError(f"{project.pyproject}: max-parallel must be 0 (one per core) or more")
    where = f"{project.pyproject or 'pyproject.toml'} [tool.nbprod.pipeline.models]"
    return replace(config, steps=tuple(steps), models=_models(config.models, where))


def _models(tables: dict[str, Any], where: str) -> dict[str, ModelConfig]:
    """The models table, each entry checked: a model name, and the value it is."""
    from ..run.models import check_model_name

    models = {}
    for name, table in tables.items():
        if isinstance(table, ModelConfig):
            models[name] = table
            continue
        try:
            check_model_name(name, where)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if isinstance(table, str):
            table = {"value": table}
        if not isinstance(table, dict) or "value" not in table:
            raise ConfigError(f"{where}: {name} must name the step value that is the model,"
                              f" e.g. {name} = {{ value = \"model\" }}")
        models[name] = build_section(ModelConfig, table, f"{where} {name}")
    return models


def load_sweep_config(project: ProjectConfig, **overrides: Any) -> SweepConfig:
    """Build ``[tool.nbprod.sweep]``; ``overrides`` are the command-line options.

    Raises
    ------
    ConfigError
        For an unknown key, or a mode other than grid/zip.
    """
    # The table is checked on its own first, so its errors name it and nothing else does:
    # options and sweep-file values are checked where they are read.
    config = project.section("sweep", SweepConfig)
    where = f"{project.pyproject or 'pyproject.toml'} [tool.nbprod.sweep]"
    if config.mode not in ("grid", "zip"):
        raise ConfigError(f"{where}: mode must be 'grid' or 'zip', got {config.mode!r}")
    try:
        _check_executor(config.executor)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return config
    config = project.section("sweep", SweepConfig, **given)
    if config.mode not in ("grid", "zip"):
        raise ConfigError(f"sweep mode must be 'grid' or 'zip', got {config.mode!r}")
    _check_executor(config.executor)
    return config


def _check_executor(name: str) -> None:
    # Imported here: the registry module imports Dask lazily, but keep config import-light.
    from .executors import executor_registry

    executor_registry.get(name)  # raises ConfigError with a did-you-mean for an unknown name
