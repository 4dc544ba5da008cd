"""What the sidebar shows belongs to the notebook in front, survives a reload, and speaks
plainly: the JupyterLab problems people ran into, one test each."""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest
from notebook_builder import make_notebook
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LOAD_TIMEOUT = 90_000
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def write(root, name: str, *cells) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(make_notebook(*cells)))
    return name


def goto(page: Page, lab_server, name: str, reset: bool = True) -> None:
    base, token, _ = lab_server
    page.goto(f"{base}/lab/tree/{name}?{'reset&' if reset else ''}token={token}")
    expect(page.locator(CELLS).first).to_be_visible(timeout=LOAD_TIMEOUT)


def open_panel(page: Page) -> None:
    if not page.locator(".nbprod-panel").is_visible():
        page.locator('li[data-id="nbprod-panel"]').click()


def test_answers_about_another_notebook_are_never_drawn_on_this_one(page: Page, lab_server,
                                                                   shot):
    _, _, root = lab_server
    # A notebook whose export answer is an error naming it, and a clean one.
    broken = write(root, "state/broken.ipynb",
                   {"source": "def f(:\n    pass", "tags": ["export"]})
    clean = write(root, "state/clean.ipynb", "x = 1")
    goto(page, lab_server, broken)
    open_panel(page)
    # Switch at once, before the broken notebook's answers arrive.
    page.evaluate("() => window.history.replaceState(null, '', window.location.href)")
    base, token, _ = lab_server
    page.goto(f"{base}/lab/tree/{clean}?token={token}")  # the workspace keeps both tabs
    expect(page.locator(".nbprod-current")).to_have_text(clean, timeout=LOAD_TIMEOUT)
    page.wait_for_timeout(3000)  # time for any late answer about broken.ipynb
    panel = page.locator(".nbprod-panel")
    expect(panel).not_to_contain_text("broken.ipynb")
    shot(page, "state-other-notebook")


def test_badges_are_drawn_after_a_reload(page: Page, lab_server):
    _, _, root = lab_server
    name = write(root, "state/badges.ipynb",
                 {"source": "lr = 0.1", "tags": ["parameters"]},
                 {"source": "def f(x):\n    return x", "tags": ["export", "step:train"]})
    goto(page, lab_server, name)
    expect(page.locator(CELLS).nth(1).locator(".nbprod-badge")).to_have_text(
        ["export", "step:train"])
    page.reload()  # the workspace is restored, the notebook opens again
    expect(page.locator(CELLS).first).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(page.locator(CELLS).first.locator(".nbprod-badge")).to_have_text(["parameters"])
    expect(page.locator(CELLS).nth(1).locator(".nbprod-badge")).to_have_text(
        ["export", "step:train"])


def test_a_bad_step_name_is_shown_and_cannot_be_applied(page: Page, lab_server, shot):
    _, _, root = lab_server
    name = write(root, "state/steps.ipynb", "x = 1")
    goto(page, lab_server, name)
    page.locator(CELLS).first.click()
    page.locator(".nbprod-tag-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".nbprod-step-name").fill("bad name!")
    expect(dialog.locator(".nbprod-step-error")).to_contain_text('"bad name!" is not a step name')
    expect(dialog.locator(".jp-mod-accept")).to_be_disabled()
    shot(page, "state-bad-step-name")
    dialog.locator(".nbprod-step-name").fill("train")
    expect(dialog.locator(".nbprod-step-error")).to_have_text("")
    dialog.locator(".jp-mod-accept").click()
    expect(page.locator(CELLS).first.locator(".nbprod-badge")).to_have_text(["step:train"])


def test_previewing_an_untagged_notebook_says_what_to_do(page: Page, lab_server):
    _, _, root = lab_server
    name = write(root, "state/untagged.ipynb", "x = 1")
    goto(page, lab_server, name)
    open_panel(page)
    page.locator(".nbprod-export-preview").click()
    expect(page.locator(".nbprod-export .nbprod-status")).to_have_text(
        "Nothing to export: no cell is tagged export, test or step. Suggest tags proposes some.",
        timeout=30_000)


def test_an_executed_notebook_is_shown_as_a_run_result(page: Page, lab_server):
    _, _, root = lab_server
    name = write(root, "state/model.output.ipynb", {"source": "x = 1", "tags": ["export"]})
    goto(page, lab_server, name)
    open_panel(page)
    expect(page.locator(".nbprod-export .nbprod-status")).to_contain_text(
        "This is the executed copy of a run. Export its source notebook (state/model.ipynb)")
    expect(page.locator(".nbprod-export-write")).to_be_hidden()
    expect(page.locator(".nbprod-output-path")).to_have_value("state/model.output.ipynb")


def test_run_progress_names_the_cell_and_the_end_is_notified(page: Page, lab_server, shot):
    _, _, root = lab_server
    name = write(root, "state/slow.ipynb",
                 {"source": "n: int = 1", "tags": ["parameters"]},
                 {"source": "import time\ntime.sleep(6)", "id": "nap"},
                 "print('done')")
    goto(page, lab_server, name)
    open_panel(page)
    page.locator(".nbprod-run-start").click()
    status = page.locator(".nbprod-run .nbprod-status")
    expect(status).to_contain_text(re.compile(r"Running cell 2 \(id 'nap'\), 2 of 3 · \d+ s"),
                                   timeout=60_000)
    shot(page, "state-run-progress")
    toast = page.locator(".Toastify__toast", has_text="succeeded")
    expect(toast).to_be_visible(timeout=120_000)
    expect(toast).to_contain_text("state/slow.ipynb")


def test_a_failed_run_names_the_cell_and_the_error(page: Page, lab_server):
    _, _, root = lab_server
    name = write(root, "state/boom.ipynb", "x = 1", "raise ValueError(f'boom {x}')")
    goto(page, lab_server, name)
    open_panel(page)
    page.locator(".nbprod-run-start").click()
    expect(page.locator(".nbprod-run .nbprod-status")).to_contain_text(
        "Run failed: cell 2 (id 'c2') raised ValueError: boom 1", timeout=120_000)
    expect(page.locator(".Toastify__toast", has_text="failed")).to_contain_text(
        "raised ValueError: boom 1")


def test_commands_menu_shortcut_and_folding(page: Page, lab_server, shot):
    _, _, root = lab_server
    name = write(root, "state/commands.ipynb",
                 {"source": "x = 1", "execution_count": 2}, {"source": "x", "execution_count": 1})
    goto(page, lab_server, name)
    menu = page.locator(".lm-MenuBar-itemLabel", has_text="nbprod")
    expect(menu).to_be_visible()
    menu.click()
    items = page.locator(".lm-Menu-itemLabel")
    for label in ("Lint Notebook with nbprod", "Fix Notebook with nbprod",
                  "Export Notebook with nbprod", "Run Notebook with nbprod"):
        expect(items.filter(has_text=label)).to_have_count(1)
    page.keyboard.press("Escape")
    page.locator(CELLS).first.click()
    page.keyboard.press("Escape")  # command mode: the notebook has the focus
    page.keyboard.press("Alt+Shift+L")
    expect(page.locator(".nbprod-lint .nbprod-finding[data-code='NB001']")).to_be_visible(
        timeout=60_000)
    title = page.locator(".nbprod-lint .nbprod-section-title")
    title.click()
    expect(page.locator(".nbprod-lint .nbprod-finding").first).to_be_hidden()
    expect(title).to_have_attribute("aria-expanded", "false")
    shot(page, "state-folded")
    title.click()
    expect(page.locator(".nbprod-lint .nbprod-finding").first).to_be_visible()
    # The palette lists the commands under "nbprod".
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("nbprod")
    expect(page.locator(".lm-CommandPalette-item", has_text="Run Notebook with nbprod")
           ).to_be_visible()
    page.keyboard.press("Escape")



def test_fix_shows_a_preview_applies_to_the_open_notebook_and_undoes(page: Page, lab_server,
                                                                      shot):
    _, _, root = lab_server
    name = write(root, "state/fixme.ipynb",
                 {"source": "import os\nx = 1", "execution_count": 1},
                 {"source": "y = x + 1", "execution_count": 2, "outputs": [
                     {"output_type": "error", "ename": "NameError", "evalue": "x",
                      "traceback": ["NameError: x"]}]})
    before = (root / name).read_text()
    goto(page, lab_server, name)
    open_panel(page)
    page.locator(".nbprod-lint-fix").click()
    dialog = page.locator(".jp-Dialog")
    preview = dialog.locator(".nbprod-fix-preview")
    expect(preview).to_be_visible(timeout=60_000)
    expect(preview.locator(".nbprod-fix-cell").first.locator(".nbprod-diff-a")).to_contain_text(
        "import os")
    expect(preview).to_contain_text("outputs cleared")  # the saved error
    shot(page, "state-fix-preview")
    # A preview writes nothing (JupyterLab itself may have saved the same cells).
    assert json.loads((root / name).read_text())["cells"] == json.loads(before)["cells"]
    dialog.locator(".jp-mod-accept").click()
    expect(page.locator(".nbprod-lint .nbprod-status")).to_contain_text("Applied fixes",
                                                                       timeout=60_000)
    expect(page.locator(CELLS).first).not_to_contain_text("import os")
    expect(page.locator(CELLS).nth(1)).not_to_contain_text("NameError")
    # JupyterLab's own undo takes the fix back: it went through the notebook's model.
    page.locator(CELLS).first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("z")
    expect(page.locator(CELLS).first).to_contain_text("import os")


def test_fix_keeps_a_change_made_to_requirements_while_its_dialog_is_open(page: Page,
                                                                           lab_server):
    # Fix moves the install into requirements.txt. If the file changes while the dialog is
    # open (another notebook's fix), Apply must add to the file as it is then, not write
    # back the text the preview was made from.
    _, _, root = lab_server
    project = root / "moving"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "moving"\n')
    (project / "requirements.txt").write_text("numpy\n")
    name = write(root, "moving/nb.ipynb", "!pip install xgboost\nimport xgboost")
    goto(page, lab_server, name)
    open_panel(page)
    page.locator(".nbprod-lint-fix").click()
    preview = page.locator(".jp-Dialog .nbprod-fix-preview")
    expect(preview.locator(".nbprod-fix-file")).to_contain_text("xgboost", timeout=60_000)
    (project / "requirements.txt").write_text("numpy\npandas\n")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.locator(".nbprod-lint .nbprod-status")).to_contain_text("Applied fixes",
                                                                       timeout=60_000)
    assert (project / "requirements.txt").read_text() == "numpy\npandas\nxgboost\n"
    expect(page.locator(CELLS).first).to_contain_text("# moved to requirements.txt")


def test_fix_applies_to_a_notebook_without_cell_ids_and_keeps_printed_output(page: Page,
                                                                             lab_server):
    # nbformat 4.4 and older have no cell ids on disk; JupyterLab gives the cells its own.
    # The fix must still find the cell, and remove the saved error but not what was printed.
    _, _, root = lab_server
    (root / "state").mkdir(exist_ok=True)
    (root / "state" / "old.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 4,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {},
                   "source": "def half(x):\n    return x / 2", "outputs": []},
                  {"cell_type": "code", "execution_count": 1, "metadata": {},
                   "source": "print('kept')\n1 / 0", "outputs": [
                       {"output_type": "stream", "name": "stdout", "text": "kept\n"},
                       {"output_type": "error", "ename": "ZeroDivisionError",
                        "evalue": "division by zero", "traceback": ["ZeroDivisionError"]}]}]}))
    goto(page, lab_server, "state/old.ipynb")
    open_panel(page)
    # A finding leads to its cell, found by position.
    page.locator(".nbprod-lint-run").click()
    page.locator('.nbprod-finding[data-code="NB007"]').click()
    expect(page.locator(CELLS + ".jp-mod-active")).to_contain_text("print('kept')")
    # A suggested tag lands on its cell.
    page.locator(".nbprod-export-suggest").click()
    page.locator(".nbprod-suggestion[data-cell='1'] .nbprod-suggestion-apply").click()
    expect(page.locator(CELLS).first.locator(".nbprod-badge")).to_have_text(["export"])
    page.locator('.jp-NotebookPanel-toolbar [data-command="docmanager:save"]').click()
    expect(page.locator(".lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)
    page.locator(".nbprod-lint-fix").click()  # while the save's own lint may still run
    preview = page.locator(".jp-Dialog .nbprod-fix-preview")
    expect(preview).to_contain_text("Cell 2 (output 2 of 2 removed)", timeout=60_000)
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.locator(".nbprod-lint .nbprod-status")).to_contain_text(
        "Applied fixes to 1 cell", timeout=60_000)
    cell = page.locator(CELLS).nth(1)
    expect(cell).to_contain_text("kept")
    expect(cell).not_to_contain_text("ZeroDivisionError")


def rename_in_front(page: Page, tab: str, new_name: str) -> None:
    """Rename the notebook of tab ``tab`` as a person does: its tab's menu, Rename Notebook…
    (the tab whose label is exactly ``tab``: other tests' notebooks stay open beside it)."""
    label = re.compile(rf"^{re.escape(tab)}$")
    notebook_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(
        has=page.locator(".lm-TabBar-tabLabel", has_text=label))
    notebook_tab.click()
    notebook_tab.click(button="right")
    page.locator(".lm-Menu-item", has_text="Rename Notebook").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill(new_name)
    dialog.locator(".jp-mod-accept").click()
    expect(dialog).to_be_hidden()


def test_the_header_output_copy_and_view_follow_a_renamed_notebook(page: Page, lab_server,
                                                                   shot):
    _, _, root = lab_server
    name = write(root, "renamed/rename_me.ipynb", {"source": "n: int = 1", "tags": ["parameters"]},
                 "print(n)")
    goto(page, lab_server, name)
    open_panel(page)
    output = page.locator(".nbprod-output-path")
    expect(page.locator(".nbprod-current")).to_have_text(name)
    expect(output).to_have_value("renamed/rename_me.output.ipynb")
    page.locator(".nbprod-runs-view").click()
    view_title = page.locator(".nbprod-view-title")
    expect(view_title).to_have_text("nbprod: renamed/rename_me.ipynb")

    rename_in_front(page, "rename_me.ipynb", "demo_renamed.ipynb")
    expect(page.locator(".nbprod-current")).to_have_text("renamed/demo_renamed.ipynb")
    renamed = root / "renamed" / "demo_renamed.ipynb"
    deadline = time.monotonic() + 15
    while not renamed.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert renamed.exists() and not (root / "renamed" / "rename_me.ipynb").exists()
    expect(output).to_have_value("renamed/demo_renamed.output.ipynb")
    expect(view_title).to_have_text("nbprod: renamed/demo_renamed.ipynb")
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab")
    expect(tabs.filter(has_text="nbprod: demo_renamed.ipynb")).to_have_count(1)
    expect(tabs.filter(has_text="nbprod: rename_me.ipynb")).to_have_count(0)
    shot(page, "state-renamed-notebook")

    # A value of the user's own is theirs: a second rename leaves it alone.
    output.fill("elsewhere/copy.ipynb")
    rename_in_front(page, "demo_renamed.ipynb", "demo_again.ipynb")
    expect(page.locator(".nbprod-current")).to_have_text("renamed/demo_again.ipynb")
    expect(output).to_have_value("elsewhere/copy.ipynb")
    expect(view_title).to_have_text("nbprod: renamed/demo_again.ipynb")


def test_run_form_checks_lists_and_dicts_and_shows_a_refused_value_under_its_field(
        page: Page, lab_server, shot):
    _, _, root = lab_server
    name = write(root, "state/typed.ipynb",
                 {"source": "items: list[int] = [1]\nopts: dict[str, int] = {}\n"
                            "limit: int | None = None\nnested: list[list[int]] = []",
                  "tags": ["parameters"]},
                 "print(items, opts, limit, nested)")
    goto(page, lab_server, name)
    open_panel(page)

    def error(field: str):
        return page.locator(f'.nbprod-field[data-name="{field}"] .nbprod-field-error')

    def type_in(field: str, text: str) -> None:
        page.locator(f'.nbprod-run input[name="{field}"]').fill(text)

    type_in("opts", "{bad")
    expect(error("opts")).to_have_text("expected a JSON dict")
    type_in("opts", '{"a": "x"}')
    expect(error("opts")).to_have_text(
        'expected a JSON dict of int values: at "a", "x" is not an int')
    type_in("opts", '{"a": 2}')
    expect(error("opts")).to_have_text("")
    type_in("items", "[1, 'a']")
    expect(error("items")).to_have_text('expected a JSON list of int: item 2, "a" is not an int')
    type_in("limit", "None")
    expect(error("limit")).to_have_text("")
    type_in("limit", "x")
    expect(error("limit")).to_have_text("expected a whole number")
    shot(page, "state-run-form-types")
    page.locator(".nbprod-run-start").click()
    expect(page.locator(".nbprod-run .nbprod-status")).to_have_text(
        "Fix the highlighted parameters first.")

    # What the form lets through and the server refuses is shown under its field.
    type_in("items", "[1, 2]")
    type_in("limit", "")
    type_in("nested", '[[1], ["a"]]')
    expect(error("items")).to_have_text("")
    expect(error("nested")).to_have_text("")
    page.locator(".nbprod-run-start").click()
    expect(error("nested")).to_contain_text("parameter 'nested' expects list[list[int]]",
                                            timeout=60_000)
    expect(page.locator(".nbprod-run .nbprod-status")).to_contain_text("Run error")
    shot(page, "state-run-refused-parameter")
