"""A real ``jupyter lab`` on 127.0.0.1 with nbprod, driven by Debian chromium through playwright.

The server runs as a subprocess in a temporary root with a random token, so the browser
exercises the real authentication and XSRF path. The built extension is taken from the
checkout (``nbprod/labextension``) through ``JUPYTER_PATH``, so the tests see the code under
test, not whatever copy is installed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest
from labserver import running_lab
from playwright.sync_api import expect, sync_playwright

from tests.integration.env.conftest import UV_CACHE

REPO = Path(__file__).resolve().parents[3]
LABEXTENSION = REPO / "nbprod" / "labextension"
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("NBPROD_CHROMIUM", "/usr/bin/chromium")
# Headless, no sandbox (root in containers), and nothing that reaches the internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Assertions wait as long as actions (the page's default timeout below), not playwright's
# 5 s: a shared 2-core machine running the rest of the suite beside the browser can be slow.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, driven by playwright, for one test module.

    Playwright's sync API marks an asyncio loop as running in this thread while it is open.
    Closing it at the end of each module (rather than once per session, as pytest-playwright
    does) keeps it from breaking the asyncio tests that the same xdist worker runs later.
    Playwright's own browser download is not reachable here, hence ``executable_path``.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser context and page per test."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """Start ``jupyter lab``; yield ``(base_url, token, root)``; stop it afterwards."""
    if not (LABEXTENSION / "package.json").exists():
        pytest.fail(
            "the JupyterLab extension is not built: run scripts/build-labextension.sh first"
        )
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    root.mkdir()
    share = home / "share"
    (share / "labextensions").mkdir(parents=True)
    (share / "labextensions" / "nbprod").symlink_to(LABEXTENSION, target_is_directory=True)
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # The "get notified about Jupyter news?" toast would cover the sidebar in screenshots.
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_PATH": str(share),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "NBPROD_CEILING_DIRECTORIES": str(root),
        # Kernels of isolated reproduces register here, not in the user's home; uv's
        # downloads are shared with the other tests of isolated environments.
        "JUPYTER_DATA_DIR": str(home / "data"),
        "UV_CACHE_DIR": UV_CACHE,
        "SKIP_JUPYTER_BUILDER": "1",
    }
    log = home / "lab.log"
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
            "--ServerApp.jpserver_extensions=nbprod=True"]
    try:
        with running_lab(argv, token, cwd=root, env=env, log=log) as base:
            yield base, token, root
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "lab.log")
        # Jupyter's own start-up banner prints the login URL; no other line may hold the token.
        leaks = [
            line for line in log.read_text(errors="replace").splitlines()
            if token in line and "/lab?token=" not in line
        ]
        assert not leaks, f"the token leaked into the server log: {leaks[:3]}"


@pytest.fixture
def shot():
    """Save a screenshot of ``page`` under test-artifacts/browser/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take
