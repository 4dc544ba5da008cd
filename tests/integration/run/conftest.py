"""Fixtures for runs in real kernels."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from tests.integration.run import runhelpers


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project: a pyproject.toml with an nbprod table, and a data folder."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.nbprod.run]\ncapture = true\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def _children_before_the_test():
    """Remember the processes other tests left running, so orphan checks see only ours."""
    runhelpers.BASELINE = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
