"""The JupyterLab extension's settings: its shortcuts clash with none of JupyterLab's own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[2] / "jupyter_extension" / "schema" / "plugin.json"
LAB_SCHEMAS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"


def _shortcuts(path: Path) -> list[dict]:
    return json.loads(path.read_text()).get("jupyter.lab.shortcuts", [])


def test_shortcuts_do_not_clash_with_jupyterlab():
    ours = {tuple(s["keys"]) for s in _shortcuts(SCHEMA)}
    assert ours, "the extension declares no shortcut"
    theirs = {}
    for schema in LAB_SCHEMAS.rglob("*.json"):
        if "nbprod" in schema.parts:
            continue
        for shortcut in _shortcuts(schema):
            theirs.setdefault(tuple(shortcut.get("keys", [])), shortcut.get("command"))
    assert len(theirs) > 100  # JupyterLab's own table was found
    assert {keys: theirs[keys] for keys in ours if keys in theirs} == {}


def test_every_menu_item_is_a_command_the_extension_defines():
    menus = json.loads(SCHEMA.read_text())["jupyter.lab.menus"]["main"]
    commands = {i["command"] for m in menus for i in m["items"] if "command" in i}
    source = (SCHEMA.parents[1] / "src" / "index.ts").read_text()
    for command in commands:
        assert f"'{command}'" in source, command
