"""Fixtures for the server-extension tests: pytest-jupyter's server, with nbprod enabled.

pytest only honours ``pytest_plugins`` in the top-level conftest, and loading pytest-jupyter
there would give every test folder its autouse event-loop fixture. Importing the plugin's
fixtures and hooks here keeps them to this folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook
from pytest_jupyter.jupyter_server import *  # noqa: F403

SAMPLE_CELLS = (
    {"source": "lr: float = 0.1  # learning rate\nepochs: int = 3", "tags": ["parameters"]},
    {"source": "import os\n\ndef double(x):\n    return 2 * x", "tags": ["export"]},
    {"source": "print(double(epochs))", "execution_count": 5},
    {"source": "assert double(2) == 4", "tags": ["test"]},
)


@pytest.fixture
def jp_server_config():
    """nbprod enabled; everything else at Jupyter Server's defaults (auth included)."""
    return {"ServerApp": {"jpserver_extensions": {"nbprod": True}}}


@pytest.fixture
def server_root(jp_root_dir) -> Path:
    """The server root with one sample notebook, ``nb/sample.ipynb``."""
    folder = jp_root_dir / "nb"
    folder.mkdir()
    (folder / "sample.ipynb").write_text(nbformat.writes(make_notebook(*SAMPLE_CELLS)))
    return jp_root_dir


@pytest.fixture
def api(jp_fetch, server_root):
    """Call an nbprod route with the server's token and return (status, headers, JSON)."""

    async def call(*parts: str, method: str = "GET", body=None, params=None, headers=None):
        kwargs = {"method": method, "raise_error": False, "headers": headers or {}}
        if params is not None:
            kwargs["params"] = params
        if body is not None:
            kwargs["body"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        if method == "DELETE":
            kwargs["allow_nonstandard_methods"] = True
        response = await jp_fetch("nbprod", *parts, **kwargs)
        text = response.body.decode("utf-8")
        return response.code, response.headers, json.loads(text) if text else None

    return call
