"""From JupyterLab: reproduce a run in the environment it ran in, from the Runs section."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest
from notebook_builder import make_notebook
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def test_reproduce_button_rebuilds_the_environment_and_says_it_matches(page: Page, lab_server,
                                                                        shot):
    base, token, root = lab_server
    folder = root / "again"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "again"\n')
    (folder / "sums.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "n: int = 4", "tags": ["parameters"]},
        "import statistics\nprint('mean', statistics.mean(range(n)))",
    )))
    done = subprocess.run(
        [sys.executable, "-m", "nbprod", "run", "again/sums.ipynb", "-q", "--output-format",
         "json"], cwd=root, env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(root)},
        capture_output=True, text=True, check=True)
    original = json.loads(done.stdout)["run_id"]

    page.goto(f"{base}/lab/tree/again/sums.ipynb?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=90_000)
    page.locator('li[data-id="nbprod-panel"]').click()
    row = page.locator(f'.nbprod-run-row[data-run-id="{original}"]')
    expect(row).to_be_visible(timeout=30_000)

    row.locator(".nbprod-run-reproduce").click()
    status = page.locator(".nbprod-runs .nbprod-status")
    expect(status).to_contain_text(f"Reproducing run {original} in its environment")
    shot(page, "reproduce-progress")
    expect(status).to_contain_text(f"matches run {original} (environment built)",
                                   timeout=240_000)
    expect(page.locator(".nbprod-run-row")).to_have_count(2)
    shot(page, "reproduce-verdict")

    runs = sorted((folder / ".nbprod" / "runs").iterdir())
    receipt = json.loads((runs[-1] / "receipt.json").read_text())
    assert (receipt["kind"], receipt["parent"]) == ("reproduce", original)
    assert receipt["kernel"].startswith("nbprod-")


def test_a_run_with_a_secret_cannot_be_reproduced_here_and_says_how(page: Page, lab_server,
                                                                    shot):
    base, token, root = lab_server
    folder = root / "secret"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "secret"\n')
    (folder / "keyed.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "api_key: str = 'none'\nn: int = 2", "tags": ["parameters"]},
        "print(n)",
    )))
    done = subprocess.run(
        [sys.executable, "-m", "nbprod", "run", "secret/keyed.ipynb", "-q", "-p", "api_key",
         "s3cr3t", "--output-format", "json"], cwd=root,
        env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(root)},
        capture_output=True, text=True, check=True)
    original = json.loads(done.stdout)["run_id"]

    page.goto(f"{base}/lab/tree/secret/keyed.ipynb?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=90_000)
    page.locator('li[data-id="nbprod-panel"]').click()
    row = page.locator(f'.nbprod-run-row[data-run-id="{original}"]')
    expect(row).to_be_visible(timeout=30_000)
    row.locator(".nbprod-run-reproduce").click()
    status = page.locator(".nbprod-runs .nbprod-status")
    # Nothing ran: no claim that the outputs differ, and the way to do it from a terminal.
    expect(status).to_have_text(
        f"Run {original} cannot be reproduced here: parameter 'api_key' was"
        f" redacted (a secret). Reproduce it from a terminal with"
        f" `nbprod reproduce {original} -p api_key VALUE`.", timeout=60_000)
    expect(page.locator(".nbprod-run-row")).to_have_count(1)
    shot(page, "reproduce-refused-secret")
