"""The main-area nbprod view: runs as a sortable table and a chart, two runs compared, the
pipeline drawn with its cache state, and a run's lineage."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from notebook_builder import make_notebook
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def nbprod(root, *args):
    env = {**os.environ, "NBPROD_CEILING_DIRECTORIES": str(root)}
    done = subprocess.run([sys.executable, "-m", "nbprod", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def test_runs_chart_diff_pipeline_and_lineage(page: Page, lab_server, shot):
    base, token, root = lab_server
    project = root / "view"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'view'\n")
    (project / "data.csv").write_text("x\n1\n2\n3\n")
    (project / "model.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "# A model", "cell_type": "markdown"},
        {"source": "depth: int = 2  # tree depth", "tags": ["parameters"]},
        {"source": "import nbprod\nrows = open('data.csv').read().split()[1:]",
         "tags": ["step:load"]},
        {"source": "score = len(rows) * depth / 10\nnbprod.record('score', score)",
         "tags": ["step:fit"]},
    )))
    for depth in ("1", "3", "2"):
        nbprod(project, "run", "model.ipynb", "-p", "depth", depth, "-q")
    nbprod(project, "pipeline", "run", "model.ipynb", "--max-parallel", "1")

    page.goto(f"{base}/lab/tree/view/model.ipynb?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=90_000)
    page.locator('li[data-id="nbprod-panel"]').click()
    page.locator(".nbprod-runs-view").click()
    view = page.locator(".nbprod-view")
    expect(view.locator(".nbprod-view-run")).to_have_count(3, timeout=30_000)
    # Sorted by a recorded value, highest first after two clicks.
    header = view.locator('th[data-key="r:score"]')
    header.click()
    header.click()
    scores = view.locator('.nbprod-view-run td[data-key="r:score"]')
    expect(scores).to_have_text(["0.9", "0.6", "0.3"])
    # The chart: each run's score against depth.
    view.locator(".nbprod-chart-x").select_option("p:depth")
    expect(view.locator(".nbprod-chart .nbprod-chart-point")).to_have_count(3)
    # The sidebar lists the pipeline run and its two steps too, each marked as such, newest
    # first.
    expect(page.locator(".nbprod-run-row")).to_have_count(6)
    expect(page.locator(".nbprod-run-row .nbprod-run-kind")).to_have_text(
        ["step", "step", "pipeline"])
    shot(page, "view-runs")
    # Two runs compared, readably.
    boxes = view.locator(".nbprod-view-run input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(2).check()
    view.locator(".nbprod-view-compare").click()
    expect(view.locator('.nbprod-diff-section[data-section="parameters"]')).to_contain_text(
        "~ depth:", timeout=30_000)
    expect(view.locator('.nbprod-diff-section[data-section="recorded values"]')).to_contain_text(
        "~ score:")
    shot(page, "view-diff")

    # Reproduce a run from its row: a job on the server, the verdict in the view.
    view.locator(".nbprod-view-run").first.locator(".nbprod-view-reproduce").click()
    expect(view.locator(".nbprod-view-status")).to_contain_text("Reproduced: run",
                                                                timeout=120_000)
    expect(view.locator(".nbprod-view-status")).to_contain_text("matches run")

    # The run's executed notebook, with its receipt, opens from its row.
    view.locator(".nbprod-view-run").first.locator(".nbprod-view-report").click()
    expect(page.frame_locator("iframe.nbprod-page-frame").locator(".nbprod-verdict")
           ).to_contain_text("succeeded", timeout=30_000)
    page.locator(".lm-TabBar-tab", has_text="nbprod: model.ipynb").click()

    view.locator('.nbprod-view-tab[data-pane="pipeline"]').click()
    steps = view.locator(".nbprod-view-step")
    expect(steps).to_have_count(2, timeout=60_000)
    expect(steps.first).to_contain_text("cached")
    expect(view.locator("img.nbprod-view-dag")).to_be_visible()
    shot(page, "view-pipeline")
    # One step, from its row: its upstream step is cached.
    steps.nth(1).locator(".nbprod-view-run-step").click()
    expect(view.locator(".nbprod-view-pipeline .nbprod-status")).to_contain_text(
        "The pipeline ran", timeout=120_000)

    view.locator('.nbprod-view-tab[data-pane="lineage"]').click()
    expect(view.locator('.nbprod-lineage-file[data-path="data.csv"]')).to_be_visible(
        timeout=30_000)
    shot(page, "view-lineage")

    # The launcher opens the view of the notebook last in front.
    page.locator(".jp-NotebookPanel-toolbar").first.wait_for(state="attached")
    page.locator(".lm-TabBar-tab", has_text="model.ipynb").first.click()
    page.locator(".jp-MainAreaWidget .lm-TabBar-addButton, .lm-DockPanel .lm-TabBar-addButton"
                 ).first.click()
    card = page.locator(".jp-LauncherCard", has_text="nbprod: model.ipynb")
    expect(card).to_be_visible(timeout=30_000)
    card.click()
    # The three runs and the reproduction made above.
    expect(page.locator(".nbprod-view .nbprod-view-run")).to_have_count(4, timeout=30_000)
