"""The set-up environment's own ``jupyter lab`` shows nbprod, as the README promises.

The other browser tests load the extension from the checkout through ``JUPYTER_PATH``; this
one starts JupyterLab the way a newcomer does after ``bash scripts/demo.sh``: the venv's
``jupyter lab``, with nothing added to its search paths and the server extension not switched
on by hand, in a copy of the example project.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from labserver import running_lab
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "browser"


def test_labextension_is_installed_in_the_environment():
    listing = subprocess.run(
        [str(VENV_BIN / "jupyter"), "labextension", "list"],
        capture_output=True, text=True, check=True,
    )
    lines = [line for line in (listing.stdout + listing.stderr).splitlines() if "nbprod" in line]
    assert lines, f"nbprod is not among the lab extensions:\n{listing.stdout}{listing.stderr}"
    assert "enabled" in lines[0] and "OK" in lines[0], lines[0]
    servers = subprocess.run(
        [str(VENV_BIN / "jupyter"), "server", "extension", "list"],
        capture_output=True, text=True, check=True,
    )
    assert "nbprod" in servers.stdout + servers.stderr


@pytest.fixture(scope="module")
def example_lab(tmp_path_factory):
    """``jupyter lab`` from the venv on a copy of examples/; yields ``(base, token, root)``."""
    home = tmp_path_factory.mktemp("setup-lab")
    root = home / "examples"
    shutil.copytree(REPO / "examples", root, ignore=shutil.ignore_patterns(".nbprod"))
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    # Only where JupyterLab keeps a user's layout: a test must not restore someone's workspace.
    env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(home / "workspaces")
    token = secrets.token_hex(16)
    log = home / "lab.log"
    try:
        with running_lab([str(VENV_BIN / "jupyter"), "lab"], token, cwd=root, env=env,
                         log=log) as base:
            yield base, token, root
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "setup-lab.log")


def test_setup_jupyterlab_shows_the_nbprod_sidebar_on_the_example(page: Page, example_lab,
                                                                   shot):
    base, token, _ = example_lab
    page.goto(f"{base}/lab/tree/notebooks/train.ipynb?reset&token={token}")
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=90_000)
    tab = page.locator('li[data-id="nbprod-panel"]')
    expect(tab).to_be_visible()
    tab.click()
    expect(page.locator(".nbprod-current")).to_have_text("notebooks/train.ipynb")
    # The server extension answers too: a lint of the example notebook comes back.
    page.locator(".nbprod-lint-run").click()
    expect(page.locator(".nbprod-lint .nbprod-status")).to_have_text(
        re.compile(r"(No findings|\d+ findings?)$"), timeout=60_000)
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible()
    shot(page, "setup-environment-sidebar")
