"""Run reports as a reader sees them: each kind of page in headless Chromium, offline."""

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


def nbprod(*args, cwd):
    env = {**os.environ, "NBPROD_CEILING_DIRECTORIES": str(cwd)}
    return subprocess.run([sys.executable, "-m", "nbprod", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A project with a succeeded, a failed, a sweep and a pipeline run, each reported."""
    root = tmp_path_factory.mktemp("reports")
    (root / "pyproject.toml").write_text("[project]\nname = 'wine'\n")
    (root / "data.csv").write_text("x,y\n1,2\n3,4\n5,7\n")
    (root / "train.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "# Training a line", "cell_type": "markdown"},
        {"source": "slope: float = 1.0  # the slope\nfail: bool = False", "tags": ["parameters"]},
        "import csv, nbprod\nrows = list(csv.DictReader(open('data.csv')))",
        {"source": "error = sum((float(r['y']) - slope * float(r['x'])) ** 2 for r in rows)\n"
                   "nbprod.record('error', error)\nprint('error', error)", "id": "fit"},
        {"source": "if fail:\n    raise ValueError('asked to fail')", "id": "check"},
    )))
    (root / "flow.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "n: int = 3", "tags": ["parameters"]},
        {"source": "data = list(range(n))", "tags": ["step:load"]},
        {"source": "total = sum(data)", "tags": ["step:total"]},
    )))
    ids = {}
    for name, args in (("succeeded", ["-p", "slope", "1.2"]), ("failed", ["-p", "fail", "yes"])):
        done = nbprod("run", "train.ipynb", *args, "--output-format", "json", cwd=root)
        ids[name] = json.loads(done.stdout)["run_id"]
    done = nbprod("sweep", "train.ipynb", "-p", "slope", "1.0,1.2,1.4", "--output-format",
                  "json", cwd=root)
    ids["sweep"] = json.loads(done.stdout)["sweep_id"]
    done = nbprod("pipeline", "run", "flow.ipynb", "--output-format", "json", cwd=root)
    ids["pipeline"] = json.loads(done.stdout)["run_id"]
    pages = {}
    for kind, run_id in ids.items():
        done = nbprod("runs", "report", run_id, "-o", f"{kind}.html", cwd=root)
        assert done.returncode == 0, done.stderr
        pages[kind] = root / f"{kind}.html"
    return pages


@pytest.mark.parametrize("kind", ["succeeded", "failed", "sweep", "pipeline"])
def test_each_kind_of_report_page(page: Page, reports, shot, kind):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(reports[kind].as_uri())
    heading = page.locator(".nbprod-report h1").first
    expect(heading).to_contain_text("nbprod")
    if kind == "succeeded":
        expect(page.locator(".nbprod-verdict")).to_contain_text("succeeded")
        expect(page.locator(".nbprod-parameters")).to_contain_text("1.2")
        expect(page.locator(".nbprod-lineage")).to_contain_text("data.csv")
        expect(page.locator("main .jp-OutputArea-output").first).to_contain_text("error 1.8")
    elif kind == "failed":
        link = page.locator("#nbprod-error a")
        expect(link).to_have_text("cell 5 (id check)")
        link.click()
        failing = page.locator(".celltag_nbprod-failed")
        expect(failing).to_contain_text("asked to fail")
        expect(failing).to_be_in_viewport()
        page.evaluate("window.scrollTo(0, 0)")
    elif kind == "sweep":
        expect(page.locator("svg circle.point")).to_have_count(3)
        expect(page.locator(".nbprod-runs tr")).to_have_count(4)
    else:
        expect(page.locator(".nbprod-dag g.step")).to_have_count(2)
        expect(page.locator(".nbprod-dag line.edge")).to_have_count(1)
    shot(page, f"report-{kind}")
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
