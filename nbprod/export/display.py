"""Statements that only show something in a notebook: ``df.head()``, ``plt.show()``, a lone
name on the last line.

In a notebook they are how a person looks at the data; in a pipeline step they compute
nothing anyone receives. Export leaves them out of step bodies, and the suggestions make a
cell of nothing else ``skip`` instead of a step.
"""

from __future__ import annotations

import ast

__all__ = ["is_display", "is_plot", "displays_only"]

#: Methods whose call only shows (or summarises for showing) the object they are called on.
DISPLAY_METHODS = frozenset({
    "head", "tail", "describe", "info", "sample", "show", "display", "value_counts",
    "nunique", "memory_usage", "to_string", "summary",
})
#: Methods that return a new value and change nothing (pandas and NumPy reductions and
#: views): called as a bare statement, only the shown result matters. Any ``inplace=``
#: argument makes the call a change, not a display.
PURE_METHODS = frozenset({
    "sum", "mean", "median", "std", "var", "min", "max", "count", "prod", "cumsum",
    "cumprod", "quantile", "corr", "cov", "unique", "isnull", "isna", "notnull", "notna",
    "groupby", "aggregate", "agg", "pivot_table", "query", "round", "abs", "any", "all",
    "argmax", "argmin", "idxmax", "idxmin", "to_frame", "astype", "copy", "reshape",
    "transpose", "dropna", "fillna", "sort_values", "sort_index", "reset_index", "set_index",
    "rolling", "resample", "stack", "unstack", "nlargest", "nsmallest", "items", "keys",
    "values", "mode", "dot", "flatten", "ravel", "tolist", "to_numpy", "shape", "dtype",
})
#: Builtins without side effects: ``len(rows)`` alone on a line only shows the length.
PURE_BUILTINS = frozenset({
    "len", "type", "repr", "str", "sum", "min", "max", "sorted", "list", "tuple", "set",
    "dict", "round", "abs", "id", "dir", "vars", "isinstance", "hash", "bool", "int", "float",
})
#: Module aliases whose calls draw (matplotlib, seaborn): a figure is not a step's result.
PLOT_MODULES = frozenset({"plt", "sns", "pylab", "mpl"})
#: Methods that draw on an axes or a frame.
PLOT_METHODS = frozenset({
    "plot", "hist", "scatter", "bar", "barh", "imshow", "boxplot", "pie", "legend",
    "set_title", "set_xlabel", "set_ylabel", "set_xlim", "set_ylim", "axis", "grid",
    "contour", "contourf", "errorbar", "fill_between", "text", "annotate", "colorbar",
    "heatmap", "pairplot", "subplots_adjust", "tight_layout", "savefig",
})


def is_display(stmt: ast.stmt) -> bool:
    """A bare expression statement that only shows a value: names, attributes, indexes,
    literals, arithmetic, and calls of ``display``, side-effect-free builtins (``len``) and
    methods that only show or compute a new value (``df.head()``, ``df.groupby("k").sum()``,
    ``plt.show()``), with no ``inplace=`` argument."""
    if not isinstance(stmt, ast.Expr):
        return False
    for node in ast.walk(stmt.value):
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Call) and not _pure_call(node):
            return False
    return True


def _pure_call(node: ast.Call) -> bool:
    if any(k.arg == "inplace" for k in node.keywords):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "display" or func.id in PURE_BUILTINS
    return isinstance(func, ast.Attribute) and func.attr in PURE_METHODS | DISPLAY_METHODS


def is_plot(stmt: ast.stmt) -> bool:
    """A bare call that draws: ``plt.plot(...)``, ``ax.set_title(...)``, ``df.plot()``."""
    if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
        return False
    func = stmt.value.func
    root = func
    while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
        root = root.func if isinstance(root, ast.Call) else root.value
    if isinstance(root, ast.Name) and root.id in PLOT_MODULES:
        return True
    return isinstance(func, ast.Attribute) and func.attr in PLOT_METHODS


def displays_only(tree: ast.Module | None) -> bool:
    """Whether a cell only shows or plots (and sets no name)."""
    return tree is not None and bool(tree.body) and all(
        is_display(stmt) or is_plot(stmt) or (isinstance(stmt, ast.Expr)
                                              and _is_print(stmt.value))
        for stmt in tree.body)


def _is_print(value: ast.expr) -> bool:
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
        and value.func.id == "print"
