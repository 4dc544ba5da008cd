"""From JupyterLab: serve the example notebook's model, predict from the form, watch drift."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Page, expect

from tests.integration.serve.servehelpers import copy_project, serve_processes

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
NOTEBOOK = "served/notebooks/train.ipynb"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _nbprod(*args: str, cwd, root) -> str:
    done = subprocess.run([sys.executable, "-m", "nbprod", *args], cwd=cwd, capture_output=True,
                          text=True, check=True,
                          env={**os.environ, "NBPROD_CEILING_DIRECTORIES": str(root)})
    return done.stdout


def _wait_for_service_process(project: Path) -> psutil.Process:
    """The ``nbprod serve`` process the server started in ``project``, once it exists."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = serve_processes(cwd=project / "notebooks")
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("the server started no nbprod serve process")


def _predict(base: str, token: str, record: dict) -> None:
    request = urllib.request.Request(
        f"{base}/nbprod/serve/predict", method="POST",
        data=json.dumps({"path": NOTEBOOK, "record": record}).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_serve_section_starts_predicts_shows_drift_and_stops(page: Page, lab_server, shot):
    base, token, root = lab_server
    project = copy_project(EXAMPLES, root / "served")
    _nbprod("export", "notebooks/train.ipynb", cwd=project, root=root)
    _nbprod("run", "notebooks/train.ipynb", "-q", cwd=project, root=root)
    listed = json.loads(_nbprod("runs", "list", "--output-format", "json", cwd=project, root=root))
    run_id = listed[0]["run_id"]
    with open(project / "data" / "wine.csv", newline="") as handle:
        rows = [{k: float(v) for k, v in row.items() if k != "target"}
                for row in csv.DictReader(handle)]

    page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=90_000)
    page.locator('li[data-id="nbprod-panel"]').click()
    expect(page.locator(".nbprod-current")).to_have_text(NOTEBOOK)
    for key in ("lint", "export", "run", "runs"):  # fold the others: Serve in view
        page.locator(f".nbprod-{key} > .nbprod-section-title").click()
    section = page.locator(".nbprod-serve")
    status = section.locator(".nbprod-status")
    expect(status).to_contain_text("Not serving")

    # Stop while the model loads: the start ends quietly, nothing keeps running.
    expect(section.locator(".nbprod-serve-stop")).to_be_disabled()
    section.locator(".nbprod-serve-start").click()
    expect(status).to_contain_text("Starting the model service")
    expect(section.locator(".nbprod-serve-start")).to_be_disabled()
    expect(section.locator(".nbprod-serve-stop")).to_be_enabled()
    loading = _wait_for_service_process(project)
    shot(page, "serve-starting")
    section.locator(".nbprod-serve-stop").click()
    expect(status).to_contain_text("Not serving", timeout=30_000)
    expect(status).to_have_class(re.compile(r"\bnbprod-status-info\b"))  # not an error
    loading.wait(timeout=30)

    section.locator(".nbprod-serve-start").click()
    expect(status).to_contain_text(f"Serving model wine of run {run_id}", timeout=120_000)
    fields = section.locator(".nbprod-serve-field")
    expect(fields).to_have_count(len(rows[0]))
    for name, value in rows[0].items():
        field = section.locator(f'.nbprod-field[data-column="{name}"] input')
        expect(field).to_have_attribute("type", "number")
        field.fill(str(value))
    section.locator(".nbprod-serve-predict").click()
    expect(section.locator(".nbprod-serve-prediction")).to_have_text("0")
    expect(section.locator(".nbprod-drift-summary")).to_contain_text("1 request row so far")

    # Live traffic with the alcohol content shifted up: drift flags alcohol, not proline.
    for row in rows:
        _predict(base, token, {**row, "alcohol": row["alcohol"] + 3})
    section.locator(".nbprod-serve-refresh").click()
    expect(section.locator(".nbprod-drift-summary")).to_contain_text(
        f"Last {len(rows) + 1} request rows")
    alcohol = section.locator('.nbprod-drift-row[data-feature="alcohol"] td')
    expect(alcohol.last).to_have_text("drifted")
    expect(alcohol.nth(2)).to_have_text("+0.0 pp")
    expect(section.locator('.nbprod-drift-row[data-feature="proline"] td').last).to_have_text(
        "stable")
    page.set_viewport_size({"width": 1400, "height": 1250})  # the whole section in view
    # A wider sidebar: drag the handle between it and the notebook.
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)")
    box = handle.first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 300, steps=5)
    page.mouse.up()
    shot(page, "serve-in-lab")

    port = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{base}/nbprod/serve?path={NOTEBOOK}",
        headers={"Authorization": f"token {token}"}), timeout=10).read())["port"]
    section.locator(".nbprod-serve-stop").click()
    expect(status).to_contain_text("Not serving")
    expect(fields).to_have_count(0)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the service still listens"


SHOP = {
    "pyproject.toml": '[project]\nname = "shop"\n\n[tool.nbprod.export]\npackage = "shop"\n',
}
SHOP_CELLS = (
    {"source": "import pandas as pd", "tags": ["export"]},
    {"source": "def predict(model, rows: pd.DataFrame) -> list:\n"
               "    return [model[r] * n for r, n in zip(rows['region'], rows['items'])]",
     "tags": ["serve"]},
    {"source": "import nbprod\n\n"
               "frame = pd.DataFrame({'region': ['east', 'north', 'south'] * 40,\n"
               "                      'size': [1.0, 2.5, None] * 40, 'items': [1, 2, 3] * 40,\n"
               "                      'member': [True, False, True] * 40})\n"
               "nbprod.record_model('price', {'east': 10, 'north': 20, 'south': 30},"
               " training_data=frame)"},
)


def test_the_form_follows_the_schema_categories_booleans_integers_and_missing(
        page: Page, lab_server, shot):
    import nbformat
    from notebook_builder import make_notebook

    base, token, root = lab_server
    project = root / "shop"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text(SHOP["pyproject.toml"])
    (project / "notebooks" / "price.ipynb").write_text(nbformat.writes(make_notebook(*SHOP_CELLS)))
    _nbprod("export", "notebooks/price.ipynb", cwd=project, root=root)
    _nbprod("run", "notebooks/price.ipynb", "-q", cwd=project, root=root)

    page.goto(f"{base}/lab/tree/shop/notebooks/price.ipynb?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=90_000)
    page.locator('li[data-id="nbprod-panel"]').click()
    section = page.locator(".nbprod-serve")
    section.locator(".nbprod-serve-start").click()
    expect(section.locator(".nbprod-status")).to_contain_text("Serving model price",
                                                              timeout=120_000)
    field = {name: section.locator(f'.nbprod-field[data-column="{name}"] .nbprod-serve-field')
             for name in ("region", "size", "items", "member")}
    expect(field["region"].locator("option")).to_have_text(["east", "north", "south"])
    expect(field["member"].locator("option")).to_have_text(["true", "false"])
    expect(field["items"]).to_have_attribute("step", "1")
    expect(field["size"]).to_have_attribute("placeholder", "1 – 2.5, empty: missing")
    # Wider than the field: the whole hint is its tooltip too.
    expect(field["size"]).to_have_attribute("title", "1 – 2.5, empty: missing")

    section.locator(".nbprod-serve-predict").click()  # items is required
    expect(section.locator('.nbprod-field[data-column="items"] .nbprod-field-error')).to_have_text(
        "required")
    expect(section.locator(".nbprod-serve-prediction")).to_have_count(0)
    field["region"].select_option("south")
    field["member"].select_option("false")
    field["items"].fill("3")
    section.locator(".nbprod-serve-predict").click()  # size left empty: sent as null
    expect(section.locator(".nbprod-serve-prediction")).to_have_text("90")
    shot(page, "serve-form-categories")
    section.locator(".nbprod-serve-stop").click()
    expect(section.locator(".nbprod-status")).to_contain_text("Not serving")
