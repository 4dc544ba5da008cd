"""The registry: explicit built-ins, lazy entry-point plugins, clear errors for bad plugins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.errors import ConfigError, PluginError
from nbprod.registry import Registry

PLUGIN = '''
from nbprod.lint.rule import Rule

class ShoutRule(Rule):
    """## What it does
    Flags cells that shout.
    """

    code = "ABC001"
    name = "no-shouting"

    def check(self, ctx):
        for cell in ctx.nb.code_cells:
            if "SHOUT" in cell.source:
                yield self.diagnostic(ctx, cell, "Do not shout")
'''


def _install_fake_plugin(root, entry_points: str, module_source: str = PLUGIN, name="fake"):
    """A module plus a ``*.dist-info`` folder on ``root``: what pip would leave behind."""
    (root / f"{name}_rules.py").write_text(module_source)
    info = root / f"nbprod_{name}_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: nbprod-{name}-rules\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def registry():
    return Registry("lint rule", "nbprod.rules", key_pattern=r"[A-Z]{1,4}[0-9]{3}")


def test_entry_point_is_discovered_lazily(tmp_path, monkeypatch, registry):
    _install_fake_plugin(tmp_path, "[nbprod.rules]\nABC001 = fake_rules:ShoutRule\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_rules", raising=False)
    registry.register("NB001", object, aliases=("builtin",))
    assert "fake_rules" not in sys.modules  # nothing loaded at registration
    rule = registry.get("ABC001")
    assert rule.__name__ == "ShoutRule" and "fake_rules" in sys.modules
    assert registry.names() == ["ABC001", "NB001"]
    assert registry.get("builtin") is object


def test_duplicate_keys_are_refused(tmp_path, monkeypatch, registry):
    registry.register("NB001", object)
    with pytest.raises(PluginError, match="registered twice"):
        registry.register("NB001", int)
    _install_fake_plugin(tmp_path, "[nbprod.rules]\nNB001 = fake_rules:ShoutRule\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="'NB001' is registered twice"):
        registry.names()


def test_broken_plugin_names_its_distribution(tmp_path, monkeypatch, registry):
    _install_fake_plugin(
        tmp_path, "[nbprod.rules]\nABC002 = broken_rules:Rule\n",
        module_source="raise ImportError('missing dependency zzz')\n", name="broken",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        registry.get("ABC002")
    message = str(info.value)
    assert "nbprod-broken-rules" in message and "broken_rules:Rule" in message
    assert "missing dependency zzz" in message


def test_invalid_plugin_key_is_refused(tmp_path, monkeypatch, registry):
    _install_fake_plugin(tmp_path, "[nbprod.rules]\nshout = fake_rules:ShoutRule\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="invalid name; it must match"):
        registry.names()


def test_unknown_key_suggests(registry):
    registry.register("NB001", object, aliases=("execution-out-of-order",))
    with pytest.raises(ConfigError, match="did you mean 'execution-out-of-order'"):
        registry.get("execution-out-of-ordr")


def test_plugin_rule_runs_in_nbprod_lint(tmp_path):
    _install_fake_plugin(tmp_path, "[nbprod.rules]\nABC001 = fake_rules:ShoutRule\n")
    nb = tmp_path / "nb.ipynb"
    nb.write_text(nbformat.writes(make_notebook("x = 'SHOUT'")))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "NBPROD_CEILING_DIRECTORIES": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "nbprod", "lint", str(nb), "--select", "ABC"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "cell 1:1:1: ABC001 Do not shout" in proc.stdout


def test_the_cheap_scan_finds_declared_groups_and_says_maybe_for_archives(tmp_path,
                                                                         monkeypatch):
    from nbprod.registry import may_declare

    assert not may_declare("nbprod.nothing-declares-this")
    _install_fake_plugin(tmp_path, "[nbprod.nothing-declares-this]\nABC001 = fake_rules:R\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert may_declare("nbprod.nothing-declares-this")
    monkeypatch.syspath_prepend(str(tmp_path / "fake_rules.py"))  # a file: as a zip would be
    assert may_declare("nbprod.another-group")
