"""Fixtures of the lint unit tests."""

from __future__ import annotations

import pytest

# The drift rules report an API only where the installed version lacks it: the goldens and
# fix expectations are those of these versions, whatever this environment has.
GOLDEN_VERSIONS = {"pandas": "3.1.1", "matplotlib": "3.11.2", "numpy": "2.4.6",
                   "scikit-learn": "1.9.1", "ipython": "9.18.1"}


@pytest.fixture(autouse=True)
def golden_versions(monkeypatch):
    import nbprod.lint.rerun as rerun

    monkeypatch.setattr(rerun, "installed_version", GOLDEN_VERSIONS.get)
