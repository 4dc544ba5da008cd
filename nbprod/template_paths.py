"""Where the templates are: ``templates/`` at the top of the repository, ``nbprod/templates/``
in the wheel.

The templates (``init/`` for ``nbprod init``, ``export/`` for generated modules, tests and
pipelines, ``report/`` for run reports) are files a team may read and restyle, so they live
at the top of the source tree rather than among the modules; the wheel build copies them into
the package (``[tool.hatch.build.targets.wheel.force-include]``). An installed nbprod finds
them inside the package, a checkout (an editable install) beside it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .errors import ConfigError

__all__ = ["template_dir"]

KINDS = ("export", "init", "report")


@cache
def template_dir(kind: str) -> Path:
    """The folder of one kind of template (``export``, ``init`` or ``report``).

    Raises
    ------
    ConfigError
        When the installation has lost its templates (reinstalling nbprod restores them).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown template kind {kind!r}")
    package = Path(__file__).resolve().parent
    for root in (package / "templates", package.parent / "templates"):
        if (root / kind).is_dir():
            return root / kind
    raise ConfigError(f"nbprod's {kind} templates are missing from this installation;"
                      " reinstall nbprod")
