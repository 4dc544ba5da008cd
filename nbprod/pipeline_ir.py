"""The pipeline IR shared by its two sources and every executor and exporter.

A pipeline comes either from the ``step:<name>`` cells of one notebook (``nbprod export``
writes it as ``<module>_pipeline.json`` beside the generated step module) or from notebooks
listed in ``[[tool.nbprod.pipeline.steps]]``. Both become the same ``Pipeline``; executors
and exporters only ever see this form.

It sits below both ``export`` (whose step exporter produces it from step cells) and the
``pipeline`` package (which plans and runs it), so neither has to import the other upwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .params.model import Parameter

__all__ = ["Pipeline", "Step", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Step:
    """One node of the DAG.

    A step is either a function of a generated step module (``function`` = "module:function",
    ``args`` the values it takes from upstream steps, ``returns`` the values it hands on) or a
    whole notebook run (``notebook`` = path relative to the project, with ``parameters``).
    ``inputs``/``outputs`` are data files; ``needs`` names upstream steps explicitly.
    """

    name: str
    function: str | None = None
    notebook: str | None = None
    args: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()  # ids of the notebook cells the step came from
    # Parameters the step also takes but that ``parameters`` leaves out because they have no
    # literal default (required ones, or ``today = date.today()``): set only when given.
    accepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    """Steps in declaration order, the parameters they share, and where they came from."""

    name: str
    steps: tuple[Step, ...]
    parameters: tuple[Parameter, ...] = ()
    source: str | None = None  # the notebook or pyproject.toml it was built from

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Pipeline:
        steps = tuple(
            Step(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()})
            for s in data.get("steps", [])
        )
        params = tuple(Parameter(**p) for p in data.get("parameters", []))
        return cls(name=data["name"], steps=steps, parameters=params, source=data.get("source"))
