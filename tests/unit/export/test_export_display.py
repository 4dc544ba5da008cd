"""Which bare statements only show a value (kept out of step bodies, skipped by suggest)."""

from __future__ import annotations

import ast

import pytest

from nbprod.export.display import displays_only, is_display, is_plot


@pytest.mark.parametrize("source", [
    "df", "df.shape", "df['a']", "df.head()", "df.head(3).T", "plt.show()", "len(rows)",
    "display(df)", "df.groupby('k').sum()", "ser.value_counts()", "x + 1", "'text'",
])
def test_display_expressions(source):
    assert is_display(ast.parse(source).body[0])


@pytest.mark.parametrize("source", [
    "model.fit(X, y)", "rows.sort()", "rng.normal(0, 1)", "df.dropna(inplace=True)",
    "np.sum(step(x))", "[f(x) for x in xs]", "x = df.head()", "print(x)",
])
def test_statements_that_change_something_are_kept(source):
    assert not is_display(ast.parse(source).body[0])


def test_plots_and_cells_that_only_show():
    assert is_plot(ast.parse("plt.plot(x, y)").body[0])
    assert is_plot(ast.parse("ax.set_title('t')").body[0])
    assert is_plot(ast.parse("df.plot(kind='bar')").body[0])
    assert not is_plot(ast.parse("fig, ax = plt.subplots()").body[0])
    assert displays_only(ast.parse("df.head()\nprint(df.shape)\nplt.show()"))
    assert not displays_only(ast.parse("df.head()\ntotal = df.a.sum()"))
    assert not displays_only(ast.parse(""))


def test_a_step_left_without_its_display_lines_is_clean_for_ruff(tmp_path):
    import subprocess

    from export_support import generate

    from nbprod.lint.ruff_binary import ruff_binary

    files = generate(
        # The import and the value were only there to be shown.
        {"source": "import numpy\nnumpy.__version__", "tags": ["step:a"]},
        {"source": "rows = [3, 1]\nscores = [r * 2 for r in rows]\nscores[0]",
         "tags": ["step:a"]},
        # Read by a query string only (`df.query("x > @low")`), as ruff cannot see.
        {"source": "low, high = 1, 2\nquery = 'x > @low'", "tags": ["step:a"]},
        # `scores` inside best() is best's own: it does not read the step's `scores`.
        {"source": "def best(x):\n    scores = [x]\n    return scores\ntop = best(1)",
         "tags": ["step:b"]},
    )
    target = tmp_path / "nb_pipeline.py"
    target.write_text(files["nb_pipeline.py"])
    done = subprocess.run([ruff_binary(), "check", "--isolated", "--no-cache", "--select",
                           "F,B018,RUF", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
