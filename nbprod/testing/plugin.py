"""The pytest plugin (entry point ``pytest11``): ``pytest --nbprod`` collects notebooks.

pytest loads this module in every run of every project where nbprod is installed, so it imports
nothing beyond pytest and does nothing unless ``--nbprod`` (or ``--nbprod-compare``) is given;
nbclient and the kernel machinery load only when a notebook is collected.
"""

from __future__ import annotations

import pytest

from .config import MODES


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nbprod", "notebook tests (nbprod)")
    group.addoption(
        "--nbprod",
        action="store_true",
        help="Collect .ipynb files; run each top to bottom in a fresh kernel.",
    )
    group.addoption(
        "--nbprod-mode",
        choices=MODES,
        default=None,
        help="run: any unexpected error fails (default); compare: outputs must also match the"
        " stored ones. Overrides [tool.nbprod.test] mode. Implies --nbprod.",
    )
    group.addoption(
        "--nbprod-compare",
        action="store_true",
        help="Same as --nbprod-mode=compare.",
    )
    group.addoption(
        "--nbprod-timeout",
        type=int,
        default=None,
        metavar="SECONDS",
        help="Seconds a cell may run (default 600, or [tool.nbprod.test] timeout).",
    )
    group.addoption(
        "--nbprod-report",
        default=None,
        metavar="DIR",
        help="Write an HTML report (the executed notebook, the failing cell highlighted) of"
        " each failing notebook into DIR.",
    )
    group.addoption(
        "--nbprod-kernel",
        default=None,
        metavar="NAME",
        help="Kernel to run every notebook in (default: each notebook's own kernelspec).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "nbprod: a notebook executed by pytest --nbprod")


def enabled(config: pytest.Config) -> bool:
    """Whether this run asked for notebook tests."""
    option = config.option
    return bool(
        getattr(option, "nbprod", False)
        or getattr(option, "nbprod_compare", False)
        or getattr(option, "nbprod_mode", None)
    )


def pytest_collect_file(file_path, parent):
    if file_path.suffix != ".ipynb" or not enabled(parent.config):
        return None
    from .collect import collect_notebook

    return collect_notebook(file_path, parent)
