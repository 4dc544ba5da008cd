"""From JupyterLab: export a notebook, run it with a changed parameter, compare its runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import nbformat
import pytest
from notebook_builder import make_notebook
from playwright.sync_api import Page, expect

# One JupyterLab server per worker: keep every browser test on the same xdist worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
RUN_TIMEOUT = 120_000


def test_export_run_with_a_parameter_and_diff_two_runs(page: Page, lab_server, shot):
    base, token, root = lab_server
    folder = root / "flow"
    folder.mkdir()
    (folder / "train.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "# Training", "cell_type": "markdown"},
        {"source": "lr: float = 0.1  # learning rate\nepochs: int = 3  # passes over the data",
         "tags": ["parameters"]},
        {"source": "def double(x):\n    return 2 * x", "tags": ["export"]},
        "print('result', double(epochs))",
        {"source": "assert double(2) == 4", "tags": ["test"]},
    )))
    # A first run from the command line, while the browser loads (the UI adds the second).
    earlier = subprocess.Popen(
        [sys.executable, "-m", "nbprod", "run", "flow/train.ipynb", "-p", "epochs", "2", "-q"],
        cwd=root, env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(root)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    page.goto(f"{base}/lab/tree/flow/train.ipynb?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=90_000)
    page.locator('li[data-id="nbprod-panel"]').click()

    # Export: out of date, preview, write, up to date.
    badge = page.locator(".nbprod-export-state")
    expect(badge).to_have_text("out of date (2)", timeout=30_000)
    page.locator(".nbprod-export-preview").click()
    files = page.locator(".nbprod-export .nbprod-file")
    expect(files).to_have_count(2, timeout=30_000)
    files.first.locator("summary").click()
    expect(files.first.locator("pre")).to_contain_text("def double(x):")
    shot(page, "export-preview")
    assert not (folder / "train.py").exists()
    page.locator(".nbprod-export-write").click()
    expect(page.locator(".nbprod-export .nbprod-status")).to_have_text("Wrote 2 files",
                                                                         timeout=30_000)
    expect(badge).to_have_text("up to date", timeout=30_000)
    assert "def double" in (folder / "train.py").read_text()

    # Run: the form comes from the schema; a wrong value is caught before the run.
    epochs = page.locator('.nbprod-field[data-name="epochs"] input')
    expect(epochs).to_have_attribute("placeholder", "3")
    expect(page.locator('.nbprod-field[data-name="lr"] .nbprod-help')).to_have_text("learning rate")
    epochs.fill("many")
    expect(page.locator('.nbprod-field[data-name="epochs"] .nbprod-field-error')).to_have_text(
        "expected a whole number"
    )
    page.locator(".nbprod-run-start").click()
    expect(page.locator(".nbprod-run .nbprod-status")).to_contain_text("Fix the highlighted")
    shot(page, "run-validation")

    epochs.fill("7")
    page.locator(".nbprod-run-start").click()
    expect(page.locator(".nbprod-run .nbprod-status")).to_contain_text("Running")
    shot(page, "run-progress")
    link = page.locator(".nbprod-open-output")
    expect(link).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.locator(".nbprod-run .nbprod-status")).to_contain_text("succeeded")

    # The Runs table shows both runs, the newest (from the form) first.
    assert earlier.wait(timeout=120) == 0, earlier.stderr.read()
    page.locator(".nbprod-runs-refresh").click()
    rows = page.locator(".nbprod-run-row")
    expect(rows).to_have_count(2, timeout=30_000)
    expect(rows.first.locator(".nbprod-run-params")).to_have_text("epochs=7")
    expect(rows.nth(1).locator(".nbprod-run-params")).to_have_text("epochs=2")
    # In the sidebar's width, the status fits under the run id instead of running into the
    # parameters, and a parameter is not broken inside its name.
    status = rows.first.locator(".nbprod-run-status")
    expect(status).to_have_text("succeeded")
    for cell in (status, rows.first.locator(".nbprod-run-params")):
        assert cell.evaluate("e => e.scrollWidth <= e.clientWidth"), cell.inner_text()
    assert _line_count(page, rows.first.locator(".nbprod-run-params")) == 1
    shot(page, "run-done")

    link.click()
    output_tab = page.locator(".lm-TabBar-tab", has_text="train.output.ipynb")
    expect(output_tab).to_be_visible(timeout=30_000)
    expect(page.locator(CELLS).nth(4)).to_contain_text("result 14", timeout=30_000)
    shot(page, "run-output")

    # Compare the two runs.
    page.locator(".lm-TabBar-tab", has_text="train.ipynb").first.click()
    rows.nth(0).locator("input[type=checkbox]").check()
    rows.nth(1).locator("input[type=checkbox]").check()
    page.locator(".nbprod-runs-diff").click()
    # A readable diff: sections as the CLI prints them, not dotted JSON paths.
    parameters = page.locator('.nbprod-diff-section[data-section="parameters"]')
    expect(parameters).to_contain_text("~ epochs: 2 → 7", timeout=30_000)
    expect(parameters).not_to_contain_text("added")
    outputs = page.locator('.nbprod-diff-section[data-section="outputs"]')
    expect(outputs.locator(".nbprod-diff-a")).to_contain_text("result 4")
    expect(outputs.locator(".nbprod-diff-b")).to_contain_text("result 14")
    expect(page.locator(".nbprod-diff")).not_to_contain_text("outputs.cells[0]")
    page.locator(".nbprod-runs").scroll_into_view_if_needed()
    shot(page, "runs-diff")

    # The newest run's report opens in a main-area tab: the receipt above the notebook.
    newest = rows.first.get_attribute("data-run-id")
    rows.first.locator(".nbprod-run-report").click()
    report_tab = page.locator(".lm-TabBar-tab", has_text=f"Report {newest.split('-')[-1]}")
    expect(report_tab).to_be_visible(timeout=30_000)
    frame = page.frame_locator("iframe.nbprod-page-frame")
    expect(frame.locator(".nbprod-report h1")).to_have_text(f"nbprod run {newest}",
                                                       timeout=30_000)
    expect(frame.locator(".nbprod-parameters")).to_contain_text("epochs")
    expect(frame.locator(".nbprod-verdict")).to_contain_text("succeeded")
    assert page.locator("iframe.nbprod-page-frame").get_attribute("sandbox") == ""
    shot(page, "run-report-in-lab")


def _line_count(page: Page, element, timeout: float = 10.0) -> int:
    """How many lines the text of ``element`` takes on screen. The table is drawn again when
    the run that just ended refreshes it, and a row caught in between has no lines yet: ask
    again until it has some (a word broken across lines stays 2 however long one waits)."""
    script = ("e => { const r = document.createRange(); r.selectNodeContents(e);"
              " return r.getClientRects().length; }")
    deadline = time.monotonic() + timeout
    lines = element.evaluate(script)
    while lines == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        lines = element.evaluate(script)
    return lines
