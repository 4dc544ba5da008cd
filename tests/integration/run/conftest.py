"""Fixtures for runs in real kernels."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project: a pyproject.toml with an nbprod table, and a data folder."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.nbprod.run]\ncapture = true\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    return tmp_path
