"""nbprod in a real JupyterLab: the sidebar, lint, going to a finding's cell, the tag editor."""

from __future__ import annotations

import json

import nbformat
import pytest
from notebook_builder import make_notebook
from playwright.sync_api import Page, expect

# One JupyterLab server per worker: keep every browser test on the same xdist worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LOAD_TIMEOUT = 90_000
# The notebook in front (earlier tests' notebooks may still be open in hidden tabs).
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def write_notebook(root, name: str, *cells) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(make_notebook(*cells)))
    return name


def open_notebook(page: Page, lab_server, name: str) -> None:
    base, token, _ = lab_server
    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=LOAD_TIMEOUT)
    page.locator('li[data-id="nbprod-panel"]').click()
    expect(page.locator(".nbprod-current")).to_have_text(name)


def test_lint_then_click_a_finding_lands_on_its_cell(page: Page, lab_server, shot):
    _, _, root = lab_server
    filler = [f"x{i} = {i}" for i in range(1, 25)]
    name = write_notebook(
        root, "lint/demo.ipynb",
        {"source": "# Demo", "cell_type": "markdown"},
        *[{"source": s, "execution_count": i} for i, s in enumerate(filler, start=2)],
        {"source": "y = x1 + 1", "execution_count": 1},
    )
    open_notebook(page, lab_server, name)
    page.locator(".nbprod-lint-run").click()
    finding = page.locator('.nbprod-finding[data-code="NB001"]')
    expect(finding).to_be_visible(timeout=30_000)
    expect(page.locator(".nbprod-lint .nbprod-status")).to_contain_text("finding")
    shot(page, "lint-findings")

    cell_id = finding.get_attribute("data-cell-id")
    assert cell_id == "c26"
    finding.click()
    active = page.locator(CELLS + ".jp-mod-active")
    expect(active).to_contain_text("y = x1 + 1")
    expect(active).to_be_in_viewport()
    shot(page, "lint-go-to-cell")


def test_a_notebook_the_project_excludes_is_shown_as_not_linted(page: Page, lab_server, shot):
    _, _, root = lab_server
    (root / "drafts").mkdir()
    (root / "drafts" / "pyproject.toml").write_text(
        '[tool.nbprod.lint]\nexclude = ["scratch-*"]\n')
    name = write_notebook(root, "drafts/scratch-1.ipynb", {"source": "import os"})
    open_notebook(page, lab_server, name)
    page.locator(".nbprod-lint-run").click()
    status = page.locator(".nbprod-lint .nbprod-status")
    expect(status).to_have_text(
        "Not linted: this notebook matches `exclude` in the project's [tool.nbprod.lint].",
        timeout=30_000)
    expect(page.locator(".nbprod-lint .nbprod-finding")).to_have_count(0)
    shot(page, "lint-excluded")


def test_tag_editor_tags_the_active_cell_and_shows_a_badge(page: Page, lab_server, shot):
    _, _, root = lab_server
    name = write_notebook(root, "tags/demo.ipynb", "lr = 0.1", "def f(x):\n    return x")
    open_notebook(page, lab_server, name)
    page.locator(CELLS).nth(1).click()
    page.locator(".nbprod-tag-button").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".nbprod-tag-editor")).to_be_visible()
    dialog.locator('input[data-tag="export"]').check()
    dialog.locator(".nbprod-step-name").fill("train")
    shot(page, "tag-editor")
    dialog.locator(".jp-mod-accept").click()

    second = page.locator(CELLS).nth(1)
    expect(second.locator(".nbprod-badge")).to_have_text(["export", "step:train"])

    # The context menu opens the same editor; mark the first cell as parameters.
    first = page.locator(CELLS).first
    first.click()
    first.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Edit nbprod Tags").click()
    page.locator('.jp-Dialog input[data-tag="parameters"]').check()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(first.locator(".nbprod-badge")).to_have_text(["parameters"])
    shot(page, "tag-badges")

    # The toolbar's save button, not Ctrl+S: a key press goes wherever focus happens to be.
    page.locator('.jp-NotebookPanel-toolbar [data-command="docmanager:save"]').click()
    expect(page.locator(".lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)
    saved = json.loads((root / name).read_text())
    assert [c["metadata"].get("tags") for c in saved["cells"]] == [
        ["parameters"], ["export", "step:train"]
    ]


def test_suggested_tags_are_applied_one_by_one_or_all_at_once(page: Page, lab_server, shot):
    _, _, root = lab_server
    name = write_notebook(root, "tags/suggest.ipynb", "import math",
                          "def area(r):\n    return math.pi * r * r", "assert area(1) > 3",
                          "total = area(2)")
    open_notebook(page, lab_server, name)
    page.locator(".nbprod-export-suggest").click()
    section = page.locator(".nbprod-export")
    expect(section.locator(".nbprod-status")).to_have_text("4 suggestions", timeout=30_000)
    shot(page, "tag-suggestions")
    section.locator(".nbprod-suggestion-apply").first.click()
    expect(page.locator(CELLS).first.locator(".nbprod-badge")).to_have_text(["export"])
    section.locator(".nbprod-suggestion-apply-all").click()
    expect(section.locator(".nbprod-suggestion")).to_have_count(0)
    badges = [page.locator(CELLS).nth(i).locator(".nbprod-badge") for i in range(4)]
    expect(badges[1]).to_have_text(["export"])
    expect(badges[2]).to_have_text(["test"])
    expect(badges[3]).to_have_text(["step:main"])
