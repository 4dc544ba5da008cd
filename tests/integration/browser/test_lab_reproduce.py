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


def _project_with_a_run(folder, notebook: str, cells: list, *options: str) -> str:
    """A project in ``folder`` (under the server root) with one notebook, run once from the
    command line with ``options``; the run's id."""
    folder.mkdir()
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{folder.name}"\n')
    (folder / notebook).write_text(nbformat.writes(make_notebook(*cells)))
    root = folder.parent
    done = subprocess.run(
        [sys.executable, "-m", "nbprod", "run", f"{folder.name}/{notebook}", "-q", *options,
         "--output-format", "json"], cwd=root,
        env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(root)},
        capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["run_id"]


def _runs_row(page: Page, lab_server, path: str, run_id: str):
    """The notebook at ``path`` open with the nbprod sidebar, and the row of run ``run_id``."""
    base, token, _ = lab_server
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=90_000)
    page.locator('li[data-id="nbprod-panel"]').click()
    row = page.locator(f'.nbprod-run-row[data-run-id="{run_id}"]')
    expect(row).to_be_visible(timeout=30_000)
    return row


def test_reproduce_button_rebuilds_the_environment_and_says_it_matches(page: Page, lab_server,
                                                                        shot):
    _, _, root = lab_server
    folder = root / "again"
    original = _project_with_a_run(
        folder, "sums.ipynb", [{"source": "n: int = 4", "tags": ["parameters"]},
                               "import statistics\nprint('mean', statistics.mean(range(n)))"])
    row = _runs_row(page, lab_server, "again/sums.ipynb", original)

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
    _, _, root = lab_server
    original = _project_with_a_run(
        root / "secret", "keyed.ipynb",
        [{"source": "api_key: str = 'none'\nn: int = 2", "tags": ["parameters"]}, "print(n)"],
        "-p", "api_key", "s3cr3t")
    row = _runs_row(page, lab_server, "secret/keyed.ipynb", original)
    row.locator(".nbprod-run-reproduce").click()
    status = page.locator(".nbprod-runs .nbprod-status")
    # Nothing ran: no claim that the outputs differ, and the way to do it from a terminal.
    expect(status).to_have_text(
        f"Run {original} cannot be reproduced here: parameter 'api_key' was"
        f" redacted (a secret). Reproduce it from a terminal with"
        f" `nbprod reproduce {original} -p api_key VALUE`.", timeout=60_000)
    expect(page.locator(".nbprod-run-row")).to_have_count(1)
    shot(page, "reproduce-refused-secret")
