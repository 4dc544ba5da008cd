"""The checker: selection (prefixes, longest prefix, per-file ignores), suppression, fix loop."""

from __future__ import annotations

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.errors import ConfigError
from nbprod.lint import LintConfig, lint, lint_paths
from nbprod.lint.checker import (
    MAX_FIX_PASSES,
    file_selector,
    is_selected,
    ruff_codes,
    selection,
    validate_selection,
)
from nbprod.lint.rule import Applicability, Rule
from nbprod.lint.rules import rule_registry
from nbprod.notebook import load, loads


class MarkTodo(Rule):
    """## What it does
    Test rule: flags TODO.
    """

    code = "XT001"
    name = "test-todo"
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        for cell in ctx.nb.code_cells:
            if "TODO" in cell.source:
                yield self.diagnostic(ctx, cell, "TODO left", fix_title="Mark done")

    def fix(self, ctx, diagnostic):
        cell = ctx.nb.cells[diagnostic.cell - 1]
        cell.source = cell.source.replace("TODO", "DONE", 1)


class MarkDone(Rule):
    """## What it does
    Test rule: flags DONE, which only MarkTodo's fix creates (so the loop needs two passes).
    """

    code = "XT002"
    name = "test-done"
    fix_applicability = Applicability.UNSAFE

    def check(self, ctx):
        for cell in ctx.nb.code_cells:
            if "DONE" in cell.source:
                yield self.diagnostic(ctx, cell, "DONE left", fix_title="Remove")

    def fix(self, ctx, diagnostic):
        cell = ctx.nb.cells[diagnostic.cell - 1]
        cell.source = cell.source.replace("DONE", "", 1)


class NeverConverges(Rule):
    """## What it does
    Test rule whose fix always leaves something to fix.
    """

    code = "XT003"
    name = "test-forever"
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        yield self.diagnostic(ctx, ctx.nb.code_cells[0], "again", fix_title="Grow")

    def fix(self, ctx, diagnostic):
        ctx.nb.code_cells[0].source += "#"


@pytest.fixture
def test_rules(monkeypatch):
    rule_registry.names()  # load plugins first, so ours are not clobbered
    for rule in (MarkTodo, MarkDone, NeverConverges):
        monkeypatch.setitem(rule_registry._items, rule.code, rule)


def _nb(*cells):
    return loads(nbformat.writes(make_notebook(*cells)), path="dir/nb.ipynb")


@pytest.mark.parametrize(
    ("code", "select", "ignore", "expected"),
    [
        ("NB001", ("NB",), (), True),
        ("NB001", ("NB",), ("NB001",), False),
        ("NB001", ("NB",), ("NB0",), False),
        ("NB001", ("NB001",), ("NB0",), True),  # the longer prefix wins
        ("NB001", ("NB0",), ("NB0",), False),  # a tie goes to ignore
        ("NB101", ("ALL",), ("NB1",), False),
        ("NB001", ("ALL",), ("F",), True),
        ("F401", ("ALL",), ("F4",), False),
        ("F401", ("F",), (), True),
        ("F401", ("NB",), (), False),
        ("E501", ("E4", "E7"), (), False),
    ],
)
def test_is_selected(code, select, ignore, expected):
    assert is_selected(code, select, ignore) is expected


def test_default_selection_is_nb_plus_ruff_defaults():
    config = LintConfig()
    ruff_defaults = ("E9", "F", "NPY001", "NPY201", "PD007")
    assert selection(config) == (("NB", *ruff_defaults), ())
    assert ruff_codes(config) == ruff_defaults
    assert ruff_codes(LintConfig(select=("NB001",))) == ()
    assert ruff_codes(LintConfig(select=("NB",), extend_select=("W",))) == ("W",)
    assert ruff_codes(LintConfig(ruff=False)) == ()
    assert ruff_codes(LintConfig(ruff_select=("E",))) == ("E",)


def test_per_file_ignores_match_path_or_name():
    config = LintConfig(per_file_ignores={"*/scratch-*.ipynb": ["NB0"], "old.ipynb": ["F"]})
    assert not file_selector(config, "a/scratch-1.ipynb")("NB001")
    assert file_selector(config, "a/scratch-1.ipynb")("F401")
    assert not file_selector(config, "deep/old.ipynb")("F401")
    with pytest.raises(ConfigError, match="must be a list"):
        file_selector(LintConfig(per_file_ignores={"x": "F401"}), "x")


def test_unknown_nb_code_is_refused_with_suggestion():
    with pytest.raises(ConfigError, match=r"unknown rule code 'NB0001'.*did you mean 'NB001'"):
        validate_selection(LintConfig(select=("NB0001",)))
    validate_selection(LintConfig(select=("NB0", "F"), ignore=("NB00",)))


def test_selection_runs_only_selected_rules(test_rules):
    nb = _nb({"source": "x = 1  # TODO", "execution_count": 2},
             {"source": "y", "execution_count": 1})
    codes = lambda **kw: sorted(d.code for d in lint(nb, LintConfig(**kw)).diagnostics)  # noqa: E731
    assert "NB001" in codes(select=("NB001",)) and "XT001" not in codes(select=("NB001",))
    assert codes(select=("XT001",)) == ["XT001"]
    assert codes(select=("XT",), ignore=("XT003",)) == ["XT001"]


def test_a_rule_registered_after_a_lint_runs_in_the_next(monkeypatch):
    """The rules of a selection are worked out once per process; registering one changes them."""
    nb = _nb("x = 1  # TODO")
    config = LintConfig(select=("NB", "XT"))
    assert "XT001" not in {d.code for d in lint(nb, config).diagnostics}
    rule_registry.names()
    monkeypatch.setitem(rule_registry._items, MarkTodo.code, MarkTodo)
    assert "XT001" in {d.code for d in lint(nb, config).diagnostics}


def test_suppression_comments(test_rules):
    nb = _nb("a = 1  # TODO", "b = 2  # TODO  # nbprod: ignore[XT001]",
             "c = 3  # TODO  # nbprod: ignore", "d = 4  # TODO  # nbprod: ignore[NB001, xt001]")
    found = lint(nb, LintConfig(select=("XT001",))).diagnostics
    assert [d.cell for d in found] == [1]


def test_fix_loop_converges_on_a_copy(test_rules):
    nb = _nb("x = 1  # TODO", "y = 2  # TODO TODO")
    config = LintConfig(select=("XT001", "XT002"), fix=True, unsafe_fixes=True)
    result = lint(nb, config)
    assert [c.source for c in nb.cells] == ["x = 1  # TODO", "y = 2  # TODO TODO"]  # untouched
    assert [c.source for c in result.fixed_notebook.cells] == ["x = 1  # ", "y = 2  #  "]
    assert result.fixed == 6 and result.diagnostics == []


def test_unsafe_fixes_need_the_flag(test_rules):
    result = lint(_nb("x  # TODO"), LintConfig(select=("XT001", "XT002"), fix=True))
    assert result.fixed_notebook.cells[0].source == "x  # DONE"
    assert [d.code for d in result.diagnostics] == ["XT002"]


def test_fix_loop_stops_after_max_passes(test_rules):
    result = lint(_nb("x = 1"), LintConfig(select=("XT003",), fix=True))
    assert result.fixed == MAX_FIX_PASSES
    assert result.fixed_notebook.cells[0].source == "x = 1" + "#" * MAX_FIX_PASSES


def test_lint_paths_fix_saves_atomically_and_reports(test_rules, tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(make_notebook("x = 1  # TODO", "y = 2")) + "\n")
    report = lint_paths([path], LintConfig(select=("XT001",), fix=True), jobs=1)
    assert report.fixed == 1 and report.diagnostics == []
    assert load(path).cells[0].source == "x = 1  # DONE"
    assert [p.name for p in tmp_path.iterdir()] == ["nb.ipynb"]  # no temp file left


def test_parallel_and_serial_runs_agree(tmp_path, monkeypatch):
    import nbprod.lint as lint_module

    monkeypatch.setattr(lint_module, "PARALLEL_THRESHOLD", 2)
    monkeypatch.setattr(lint_module, "PARALLEL_THRESHOLD_SPAWN", 2)
    for i in range(6):
        (tmp_path / f"nb{i}.ipynb").write_text(nbformat.writes(make_notebook(
            {"source": "import os", "execution_count": 2}, {"source": "x", "execution_count": 1})))
    (tmp_path / "bad.ipynb").write_text("{")
    serial = lint_paths([tmp_path], LintConfig(), jobs=1)
    parallel = lint_paths([tmp_path], LintConfig(), jobs=2)
    assert serial.diagnostics == parallel.diagnostics
    assert serial.errors == parallel.errors and len(serial.errors) == 1
    assert {d.code for d in parallel.diagnostics} >= {"NB001", "F401"}


def test_habit_rules_are_off_by_default_but_selectable():
    selected = file_selector(LintConfig(), "nb.ipynb")
    assert selected("NB001") and selected("F401") and selected("E999")
    for code in ("NB002", "NB008", "F403", "F405", "F811", "E402", "E703", "E702"):
        assert not selected(code), code
    by_code = file_selector(LintConfig(extend_select=("NB002", "F405", "E402")), "nb.ipynb")
    assert by_code("NB002") and by_code("F405") and by_code("E402")
    assert not by_code("NB008")
    by_prefix = file_selector(LintConfig(select=("NB",)), "nb.ipynb")
    assert by_prefix("NB008") and not by_prefix("F401")
    ignored = file_selector(LintConfig(ignore=("NB0",)), "nb.ipynb")
    assert not ignored("NB001") and ignored("NB101")
