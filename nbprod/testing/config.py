"""``[tool.nbprod.test]``: how ``pytest --nbprod`` runs and compares notebooks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["IMAGE_POLICIES", "MODES", "Sanitizer", "TestConfig", "load_test_config"]

#: ``run``: any unexpected error fails; ``compare``: outputs must also match the stored ones.
MODES = ("run", "compare")
#: ``skip``: image outputs are not compared (as nbval); ``loose``: same type and pixel size.
IMAGE_POLICIES = ("skip", "loose")


@dataclass(frozen=True)
class Sanitizer:
    """A user regex applied to both the stored and the new output text before comparing."""

    pattern: re.Pattern
    replace: str


@dataclass(frozen=True)
class TestConfig:
    """``[tool.nbprod.test]``; ``pytest`` options override it.

    Example::

        [tool.nbprod.test]
        mode = "compare"
        timeout = 120
        sanitizers = [{ regex = "run-[0-9a-f]+", replace = "run-ID" }]

        [tool.nbprod.test.parameters]
        "notebooks/train*.ipynb" = { n_samples = 100 }
    """

    __test__ = False  # not a test class, whatever pytest thinks of the name

    mode: str = "run"
    timeout: int = 600  # seconds per cell
    startup_timeout: int = 60  # seconds for the kernel to start
    kernel: str = ""  # empty: the notebook's own kernelspec
    sanitizers: tuple = ()
    parameters: dict = field(default_factory=dict)  # notebook glob -> {name: value}
    exclude: tuple[str, ...] = ()  # notebook globs never collected
    rtol: float = 1e-5  # relative tolerance for decimal numbers in compared outputs
    atol: float = 1e-8  # absolute tolerance for decimal numbers in compared outputs
    images: str = "skip"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"'mode' must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.images not in IMAGE_POLICIES:
            raise ValueError(
                f"'images' must be one of {', '.join(IMAGE_POLICIES)}, got {self.images!r}"
            )
        if self.timeout <= 0 or self.startup_timeout <= 0:
            raise ValueError("'timeout' and 'startup-timeout' must be positive numbers of seconds")
        for glob, values in self.parameters.items():
            if not isinstance(values, dict):
                raise ValueError(
                    f"parameters for {glob!r} must be a table of name = value, got {values!r}"
                )
        # Compile once, here, so a bad regex is a configuration error and not a test failure.
        object.__setattr__(self, "sanitizers", tuple(_sanitizer(s) for s in self.sanitizers))

    def parameters_for(self, notebook: Path, root: Path) -> dict[str, Any]:
        """The test-time parameters of ``notebook``: every matching glob, later ones winning."""
        relative = _relative(notebook, root)
        merged: dict[str, Any] = {}
        for glob, values in self.parameters.items():
            if relative.match(glob):
                merged.update(values)
        return merged

    def excludes(self, notebook: Path, root: Path) -> bool:
        """Whether ``notebook`` matches one of the ``exclude`` globs."""
        relative = _relative(notebook, root)
        return any(relative.match(glob) for glob in self.exclude)


def load_test_config(start: Path, **overrides: Any) -> tuple[TestConfig, Path]:
    """Read ``[tool.nbprod.test]`` for the project containing ``start``.

    Returns
    -------
    (TestConfig, Path)
        The configuration and the project root that notebook globs are relative to.

    Raises
    ------
    ConfigError
        When the table has unknown keys or invalid values.
    """
    from ..config import load_project_config

    project = load_project_config(start)
    return project.section("test", TestConfig, **overrides), project.root


def _sanitizer(spec: Any) -> Sanitizer:
    if isinstance(spec, Sanitizer):
        return spec
    if not isinstance(spec, dict) or set(spec) - {"regex", "replace"} or "regex" not in spec:
        raise ValueError(
            f"each sanitizer must be a table {{ regex = '...', replace = '...' }}, got {spec!r}"
        )
    try:
        pattern = re.compile(spec["regex"])
    except (re.error, TypeError) as exc:
        raise ValueError(f"sanitizer regex {spec['regex']!r} is invalid: {exc}") from None
    replace = spec.get("replace", "")
    if not isinstance(replace, str):
        raise ValueError(f"sanitizer 'replace' must be a string, got {replace!r}")
    return Sanitizer(pattern, replace)


def _relative(notebook: Path, root: Path) -> PurePosixPath:
    try:
        return PurePosixPath(Path(notebook).resolve().relative_to(Path(root).resolve()).as_posix())
    except ValueError:
        return PurePosixPath(Path(notebook).as_posix())

