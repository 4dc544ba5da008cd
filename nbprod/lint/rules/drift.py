"""NB5xx: API drift, calls of pandas, scikit-learn and matplotlib APIs that current versions
removed, so old notebooks fail when rerun.

Only what ruff does not cover: `.ix` is ruff's PD007, NumPy's removed aliases (`np.float`)
are NPY001 and the NumPy 2 removals NPY201; select those in ruff's rules to get them.
Structural patterns (keyword arguments of given methods, string arguments of style calls)
use ast-grep on the cell's masked source, so IPython lines do not get in the way.
"""

from __future__ import annotations

import ast
import re

from ...analysis import CellAnalysis
from ...notebook import Cell
from ..rule import Applicability, LintContext, Rule, Severity
from ._frames import literal_frames
from ._helpers import (
    Span,
    call_name,
    cell_calls,
    dotted,
    mentions,
    nodes_of,
    qualified,
    sg_root,
    sg_span,
    span,
)
from ._helpers import keyword as keyword_argument

__all__ = ["RULES"]


def _keyword_args(ctx: LintContext, cell: Cell, result: CellAnalysis, methods: set[str],
                  keywords: set[str]):
    """(method, keyword, ast-grep node) for ``obj.method(..., keyword=...)`` and
    ``method(..., keyword=...)`` calls; found with ast-grep."""
    root = sg_root(ctx, cell, result)
    names = "|".join(sorted(re.escape(m) for m in methods))
    words = "|".join(sorted(re.escape(k) for k in keywords))
    rule = {
        "rule": {
            "kind": "keyword_argument",
            "has": {"field": "name", "regex": f"^({words})$"},
            "inside": {
                "kind": "argument_list",
                "inside": {
                    "kind": "call",
                    "has": {
                        "field": "function",
                        "any": [
                            {"kind": "identifier", "regex": f"^({names})$"},
                            {"kind": "attribute", "has": {"field": "attribute",
                                                          "regex": f"^({names})$"}},
                        ],
                    },
                },
            },
        }
    }
    for node in root.find_all(rule):
        function = node.parent().parent().field("function")
        method = function.field("attribute") if function.kind() == "attribute" else function
        yield method.text(), node.field("name").text(), node


REMOVED_SKLEARN_MODULES = {
    "sklearn.cross_validation": ("0.20", "sklearn.model_selection"),
    "sklearn.grid_search": ("0.20", "sklearn.model_selection"),
    "sklearn.learning_curve": ("0.20", "sklearn.model_selection"),
    "sklearn.lda": ("0.19", "sklearn.discriminant_analysis"),
    "sklearn.qda": ("0.19", "sklearn.discriminant_analysis"),
    "sklearn.externals.joblib": ("0.23", "joblib"),
    "sklearn.externals.six": ("0.23", "six, or plain Python 3"),
    "sklearn.utils.testing": ("0.24", "sklearn.utils._testing or pytest"),
    "sklearn.neighbors.base": ("0.24", "sklearn.neighbors"),
    "sklearn.ensemble.partial_dependence": ("0.24", "sklearn.inspection"),
}


class RemovedSklearnModule(Rule):
    """## What it does
    Checks for imports of scikit-learn modules that were removed:
    `sklearn.cross_validation`, `sklearn.grid_search`, `sklearn.learning_curve`,
    `sklearn.lda`, `sklearn.qda`, `sklearn.externals.joblib`, `sklearn.externals.six`...

    ## Why is this bad?
    Tutorials written before 2018 use them. With any current scikit-learn the import fails
    with `ModuleNotFoundError` in the first cell.

    ## Example
    ```python
    from sklearn.cross_validation import train_test_split
    ```

    ## Use instead
    ```python
    from sklearn.model_selection import train_test_split
    ```
    """

    code = "NB501"
    name = "removed-sklearn-module"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            for node in nodes_of(ctx, result, ast.Import, ast.ImportFrom):
                modules: list[str] = []
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for module in modules:
                    if module in REMOVED_SKLEARN_MODULES:
                        version, instead = REMOVED_SKLEARN_MODULES[module]
                        yield self.diagnostic(
                            ctx,
                            cell,
                            f"`{module}` was removed in scikit-learn {version}; use {instead}",
                            **span(result, node).kwargs(),
                        )
                        break


REMOVED_SKLEARN_NAMES = {
    "sklearn.preprocessing.Imputer": ("0.22", "sklearn.impute.SimpleImputer"),
    "sklearn.datasets.load_boston": ("1.2", "sklearn.datasets.fetch_california_housing"),
    "sklearn.metrics.plot_confusion_matrix": (
        "1.2", "ConfusionMatrixDisplay.from_estimator"),
    "sklearn.metrics.plot_roc_curve": ("1.2", "RocCurveDisplay.from_estimator"),
    "sklearn.metrics.plot_precision_recall_curve": (
        "1.2", "PrecisionRecallDisplay.from_estimator"),
    "sklearn.metrics.jaccard_similarity_score": ("0.23", "sklearn.metrics.jaccard_score"),
    "sklearn.mixture.GMM": ("0.20", "sklearn.mixture.GaussianMixture"),
    "sklearn.mixture.DPGMM": ("0.20", "sklearn.mixture.BayesianGaussianMixture"),
    "sklearn.decomposition.RandomizedPCA": ("0.20", "PCA(svd_solver='randomized')"),
    "sklearn.linear_model.RandomizedLasso": ("0.21", "stability selection elsewhere"),
    "sklearn.linear_model.RandomizedLogisticRegression": ("0.21", "stability selection elsewhere"),
    "sklearn.utils.safe_indexing": ("0.24", "indexing the array directly"),
}


class RemovedSklearnName(Rule):
    """## What it does
    Checks for scikit-learn functions, classes and methods that were removed:
    `Imputer`, `load_boston`, `plot_confusion_matrix`, `plot_roc_curve`, `GMM`,
    `RandomizedPCA`, `jaccard_similarity_score`, `.get_feature_names()`...

    ## Why is this bad?
    The import fails with `ImportError` (or the call with `AttributeError`) on current
    scikit-learn.

    ## Example
    ```python
    from sklearn.metrics import plot_confusion_matrix
    plot_confusion_matrix(model, X_test, y_test)
    ```

    ## Use instead
    ```python
    from sklearn.metrics import ConfusionMatrixDisplay
    ConfusionMatrixDisplay.from_estimator(model, X_test, y_test)
    ```
    """

    code = "NB502"
    name = "removed-sklearn-name"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            reported: set[tuple[int, str]] = set()
            for node in nodes_of(ctx, result, ast.ImportFrom, ast.Attribute):
                found = None
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    for alias in node.names:
                        full = f"{node.module}.{alias.name}"
                        if full in REMOVED_SKLEARN_NAMES:
                            found = full
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                    full = qualified(ctx, node)
                    if full in REMOVED_SKLEARN_NAMES:
                        found = full
                    elif (node.attr == "get_feature_names"
                          and not (full or "").startswith(("pandas", "numpy"))):
                        found = "get_feature_names"
                if found is None or (node.lineno, found) in reported:
                    continue
                reported.add((node.lineno, found))
                if found == "get_feature_names":
                    message = ("`get_feature_names()` was removed in scikit-learn 1.2; use"
                               " `get_feature_names_out()`")
                else:
                    version, instead = REMOVED_SKLEARN_NAMES[found]
                    message = f"`{found}` was removed in scikit-learn {version}; use {instead}"
                yield self.diagnostic(ctx, cell, message, **span(result, node).kwargs())


_SEABORN_STYLE_RE = re.compile(r"^seaborn(?!-v0_8)(-[a-z]+)*$")


class SeabornStyleName(Rule):
    """## What it does
    Checks `plt.style.use(...)` and `plt.style.context(...)` for the old seaborn style
    names (`"seaborn"`, `"seaborn-whitegrid"`, `"seaborn-darkgrid"`...), which matplotlib
    3.8 removed.

    ## Why is this bad?
    The call raises `OSError: 'seaborn-whitegrid' is not a valid package style` and the
    notebook stops at its first plot.

    ## Example
    ```python
    plt.style.use("seaborn-whitegrid")
    ```

    ## Use instead
    The same styles live on as `seaborn-v0_8-*`:
    ```python
    plt.style.use("seaborn-v0_8-whitegrid")
    ```

    ## Fix safety
    The fix renames the style to its `seaborn-v0_8` name, which holds the same settings;
    it is safe (with matplotlib >= 3.6).
    """

    code = "NB503"
    name = "seaborn-style-name"
    rerun_blocker = True
    severity = Severity.ERROR
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            if "seaborn" not in result.masked_source:
                continue
            root = sg_root(ctx, cell, result)
            calls = root.find_all(
                kind="call",
                has={"field": "function", "regex": r"(^|\.)style\.(use|context)$"},
            )
            for call in calls:
                for literal in call.find_all(kind="string_content"):
                    style = literal.text()
                    if not _SEABORN_STYLE_RE.match(style):
                        continue
                    new = "seaborn-v0_8" + style[len("seaborn"):]
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"Style {style!r} was removed in matplotlib 3.8; use {new!r}",
                        **sg_span(literal).kwargs(),
                        fix_title=f"Rename to {new!r}",
                        data={"style": style, "new": new},
                    )

    def fix(self, ctx, diagnostic):
        _replace_at(ctx, diagnostic, diagnostic.data["style"], diagnostic.data["new"])


def _replace_at(ctx: LintContext, diagnostic, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` where the diagnostic starts, if it is still there."""
    cell = ctx.nb.cells[diagnostic.cell - 1]
    lines = cell.source.split("\n")
    index, start = diagnostic.line - 1, diagnostic.column - 1
    if 0 <= index < len(lines) and lines[index][start : start + len(old)] == old:
        lines[index] = lines[index][:start] + new + lines[index][start + len(old) :]
        cell.source = "\n".join(lines)


class GroupbyAxis(Rule):
    """## What it does
    Checks for the `axis=` argument of `groupby`, `rolling`, `expanding`, `ewm` and
    `resample`, deprecated in pandas 2.1 and removed in pandas 3.0.

    ## Why is this bad?
    The call warns on pandas 2.x and fails with `TypeError` on pandas 3.

    ## Example
    ```python
    df.groupby(mapping, axis=1).sum()
    ```

    ## Use instead
    Transpose explicitly:
    ```python
    df.T.groupby(mapping).sum().T
    ```
    """

    code = "NB504"
    name = "groupby-axis"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        methods = {"groupby", "rolling", "expanding", "ewm", "resample"}
        for cell, result in ctx.python_cells:
            source = result.masked_source
            # `axis=` is everywhere (`df.drop(..., axis=1)`): the methods must be there too.
            if not re.search(r"\baxis\s*=", source) or not any(m in source for m in methods):
                continue
            for method, _kw, node in _keyword_args(ctx, cell, result, methods, {"axis"}):
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"`{method}(axis=...)` was deprecated in pandas 2.1 and removed in 3.0;"
                    " transpose the frame instead",
                    **sg_span(node).kwargs(),
                )


_PANDAS_MAKERS = ("pandas.DataFrame", "pandas.Series", "pandas.read_", "pandas.concat",
                  "pandas.merge", "pandas.pivot_table", "pandas.get_dummies", "pandas.crosstab")
_APPEND_ONLY_KEYWORDS = {"ignore_index", "verify_integrity", "sort"}


def _pandas_names(ctx: LintContext) -> set[str]:
    """Names assigned from a pandas constructor or reader anywhere in the notebook."""

    def build() -> set[str]:
        names: set[str] = set()
        for _cell, result in ctx.python_cells:
            for node in nodes_of(ctx, result, ast.Assign):
                if isinstance(node.value, ast.Call):
                    made = call_name(ctx, node.value) or ""
                    if made.startswith(_PANDAS_MAKERS):
                        names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        return names

    return ctx.memo("pandas_names", build)


class DataFrameAppend(Rule):
    """## What it does
    Checks for `DataFrame.append` and `Series.append`, removed in pandas 2.0: calls with
    `ignore_index=`/`verify_integrity=`/`sort=`, or on a name assigned from a pandas
    constructor or reader (`pd.DataFrame(...)`, `pd.read_csv(...)`). `list.append` is
    not reported.

    ## Why is this bad?
    The call fails with `AttributeError: 'DataFrame' object has no attribute 'append'`.

    ## Example
    ```python
    results = results.append(row, ignore_index=True)
    ```

    ## Use instead
    Collect rows in a list and concatenate once (also much faster):
    ```python
    results = pd.concat([results, pd.DataFrame([row])], ignore_index=True)
    ```
    """

    code = "NB505"
    name = "dataframe-append"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        frames = _pandas_names(ctx)
        for cell, result in ctx.python_cells:
            for call, _name in cell_calls(ctx, cell, result):
                func = call.func
                if not isinstance(func, ast.Attribute) or func.attr != "append":
                    continue
                on_frame = isinstance(func.value, ast.Name) and func.value.id in frames
                if on_frame or {k.arg for k in call.keywords} & _APPEND_ONLY_KEYWORDS:
                    yield self.diagnostic(
                        ctx,
                        cell,
                        "`DataFrame.append` was removed in pandas 2.0; use `pd.concat`",
                        **span(result, call).kwargs(),
                    )


REMOVED_PANDAS_ATTRIBUTES = {
    "datetime": ("2.0", "`import datetime`"),
    "np": ("2.0", "`import numpy as np`"),
    "Panel": ("1.0", "a DataFrame with a MultiIndex, or xarray"),
    "TimeGrouper": ("1.0", "`pd.Grouper(freq=...)`"),
    "scatter_matrix": ("1.0", "`pd.plotting.scatter_matrix`"),
    "Int64Index": ("2.0", "`pd.Index(..., dtype='int64')`"),
    "UInt64Index": ("2.0", "`pd.Index(..., dtype='uint64')`"),
    "Float64Index": ("2.0", "`pd.Index(..., dtype='float64')`"),
    "SparseDataFrame": ("1.0", "a DataFrame of `pd.SparseDtype` columns"),
    "SparseSeries": ("1.0", "a Series of `pd.SparseDtype`"),
    "datetools": ("0.23", "`pd.offsets`"),
    "ols": ("0.20", "statsmodels"),
    "tools": ("0.25", "`pd.to_datetime` and friends"),
    "ewma": ("0.23", "`.ewm(...).mean()`"),
    "ewmstd": ("0.23", "`.ewm(...).std()`"),
    "expanding_mean": ("0.23", "`.expanding().mean()`"),
    "read_msgpack": ("1.0", "`pd.read_parquet` or pickle"),
    "get_store": ("0.21", "`pd.HDFStore`"),
    "value_range": ("0.21", "`Series.agg(['min', 'max'])`"),
    "util.testing": ("2.0", "`pandas.testing`"),
}
_ROLLING_RE = re.compile(
    r"^rolling_(mean|sum|std|var|min|max|median|count|apply|corr|cov|quantile)$"
)


class RemovedPandasAttribute(Rule):
    """## What it does
    Checks for attributes of the `pandas` module that were removed: `pd.datetime`,
    `pd.np`, `pd.Panel`, `pd.TimeGrouper`, `pd.rolling_mean()` and friends, `pd.ewma`,
    `pd.scatter_matrix`, `pd.Int64Index`, `pd.Float64Index`, `pd.util.testing`...

    ## Why is this bad?
    The notebook fails with `AttributeError: module 'pandas' has no attribute ...` on
    current pandas.

    ## Example
    ```python
    start = pd.datetime(2020, 1, 1)
    smooth = pd.rolling_mean(series, 7)
    ```

    ## Use instead
    ```python
    start = datetime.datetime(2020, 1, 1)
    smooth = series.rolling(7).mean()
    ```
    """

    code = "NB506"
    name = "removed-pandas-attribute"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            for node in nodes_of(ctx, result, ast.Attribute, ast.ImportFrom):
                if isinstance(node, ast.Attribute):
                    names = [qualified(ctx, node) or ""]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                else:
                    continue
                for full in names:
                    found = _removed_pandas(full)
                    if found is None:
                        continue
                    attribute, version, instead = found
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"`pandas.{attribute}` was removed in pandas {version}; use {instead}",
                        **span(result, node).kwargs(),
                    )
                    break


def _removed_pandas(full: str) -> tuple[str, str, str] | None:
    if not full.startswith("pandas."):
        return None
    attribute = full[len("pandas.") :]
    if attribute in REMOVED_PANDAS_ATTRIBUTES:
        return (attribute, *REMOVED_PANDAS_ATTRIBUTES[attribute])
    if _ROLLING_RE.match(attribute):
        return attribute, "0.23", f"`.rolling(...).{attribute[8:]}()`"
    return None


# Methods only pandas objects have, removed from current pandas: name -> (version, instead,
# replacement method when a no-argument call can be renamed safely).
REMOVED_PANDAS_METHODS = {
    "as_matrix": ("1.0", "`.to_numpy()`", "to_numpy"),
    "iteritems": ("2.0", "`.items()`", "items"),
    "get_value": ("1.0", "`.at[...]`", None),
    "set_value": ("1.0", "`.at[...] = value`", None),
    "sortlevel": ("0.20", "`.sort_index(level=...)`", None),
    "convert_objects": ("0.23", "`.infer_objects()` or `pd.to_numeric`", None),
    "reindex_axis": ("1.0", "`.reindex(..., axis=...)`", None),
    "to_sparse": ("1.0", "`.astype(pd.SparseDtype(...))`", None),
    "get_ftype_counts": ("1.0", "`.dtypes.value_counts()`", None),
    "to_msgpack": ("1.0", "`.to_parquet()` or pickle", None),
}


class RemovedPandasMethod(Rule):
    """## What it does
    Checks for calls of DataFrame/Series methods that pandas removed and that no other
    common library has: `.as_matrix()`, `.iteritems()`, `.get_value()`, `.set_value()`,
    `.sortlevel()`, `.convert_objects()`, `.reindex_axis()`, `.to_sparse()`...

    ## Why is this bad?
    The call fails with `AttributeError` on current pandas.

    ## Example
    ```python
    X = df[features].as_matrix()
    for name, column in df.iteritems(): ...
    ```

    ## Use instead
    ```python
    X = df[features].to_numpy()
    for name, column in df.items(): ...
    ```

    ## Fix safety
    `.as_matrix()` and `.iteritems()` called without arguments are renamed to
    `.to_numpy()` and `.items()`, which return the same values: safe. The other methods
    have no fix.
    """

    code = "NB507"
    name = "removed-pandas-method"
    rerun_blocker = True
    severity = Severity.ERROR
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            for call, _name in cell_calls(ctx, cell, result):
                func = call.func
                if not isinstance(func, ast.Attribute) or func.attr not in REMOVED_PANDAS_METHODS:
                    continue
                version, instead, rename = REMOVED_PANDAS_METHODS[func.attr]
                where = _attribute_span(result, func)
                fixable = rename is not None and not call.args and not call.keywords
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"`.{func.attr}()` was removed in pandas {version}; use {instead}",
                    **where.kwargs(),
                    fix_title=f"Rename to `.{rename}()`" if fixable else None,
                    data={"old": func.attr, "new": rename},
                )

    def fix(self, ctx, diagnostic):
        _replace_at(ctx, diagnostic, diagnostic.data["old"], diagnostic.data["new"])


def _attribute_span(result: CellAnalysis, node: ast.Attribute) -> Span:
    """The span of the attribute name itself (``as_matrix`` in ``df.as_matrix``)."""
    whole = span(result, node)
    start = whole.end_column - len(node.attr)
    return Span(whole.end_line, start, whole.end_line, whole.end_column)


# keyword -> (methods or functions it was removed from, removed in, use instead)
REMOVED_KEYWORDS = {
    "error_bad_lines": ({"read_csv", "read_table"}, "pandas 2.0", "`on_bad_lines='error'`"),
    "warn_bad_lines": ({"read_csv", "read_table"}, "pandas 2.0", "`on_bad_lines='warn'`"),
    "squeeze": ({"read_csv", "read_table", "read_excel"}, "pandas 2.0", "`.squeeze('columns')`"),
    "line_terminator": ({"to_csv"}, "pandas 2.0", "`lineterminator=`"),
    "join_axes": ({"concat"}, "pandas 1.0", "`.reindex()` after `pd.concat`"),
    "by": ({"sort_index"}, "pandas 0.20", "`.sort_values(by=...)`"),
    "normed": ({"hist", "hist2d"}, "matplotlib 3.1", "`density=`"),
    "axisbg": ({"subplot", "add_subplot", "axes", "add_axes"}, "matplotlib 2.2", "`facecolor=`"),
    "sparse": ({"OneHotEncoder"}, "scikit-learn 1.4", "`sparse_output=`"),
    "squared": ({"mean_squared_error", "mean_squared_log_error"}, "scikit-learn 1.6",
                "`root_mean_squared_error`"),
    "base_estimator": ({"AdaBoostClassifier", "AdaBoostRegressor", "BaggingClassifier",
                        "BaggingRegressor"}, "scikit-learn 1.4", "`estimator=`"),
    "n_iter": ({"SGDClassifier", "SGDRegressor"}, "scikit-learn 0.21", "`max_iter=`"),
    "normalize": ({"LinearRegression", "Ridge", "Lasso", "ElasticNet", "Lars", "LassoLars"},
                  "scikit-learn 1.2", "a `StandardScaler` in a pipeline"),
}


_REMOVED_KEYWORD_RE = re.compile(rf"\b({'|'.join(REMOVED_KEYWORDS)})\s*=")


class RemovedKeywordArgument(Rule):
    """## What it does
    Checks for keyword arguments that pandas, scikit-learn and matplotlib removed:
    `read_csv(error_bad_lines=)`, `to_csv(line_terminator=)`, `sort_index(by=)`,
    `hist(normed=)`, `subplot(axisbg=)`, `OneHotEncoder(sparse=)`,
    `mean_squared_error(squared=)`, `AdaBoostClassifier(base_estimator=)`,
    `LinearRegression(normalize=)`...

    ## Why is this bad?
    The call fails with `TypeError: ... got an unexpected keyword argument` on current
    versions.

    ## Example
    ```python
    encoder = OneHotEncoder(sparse=False)
    rmse = mean_squared_error(y_test, y_pred, squared=False)
    ```

    ## Use instead
    ```python
    encoder = OneHotEncoder(sparse_output=False)
    rmse = root_mean_squared_error(y_test, y_pred)
    ```
    """

    code = "NB508"
    name = "removed-keyword-argument"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            source = result.masked_source
            # The common case, decided on the text: no removed keyword is written next to a
            # name of a call it was removed from (`by=` is everywhere, `sort_index` is not).
            keywords = {
                keyword for keyword in {m.group(1) for m in _REMOVED_KEYWORD_RE.finditer(source)}
                if any(owner in source for owner in REMOVED_KEYWORDS[keyword][0])
            }
            if not keywords:
                continue
            methods = set().union(*(REMOVED_KEYWORDS[keyword][0] for keyword in keywords))
            for method, keyword, node in _keyword_args(ctx, cell, result, methods, keywords):
                owners, version, instead = REMOVED_KEYWORDS[keyword]
                if method not in owners:
                    continue
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"`{method}({keyword}=...)` was removed in {version}; use {instead}",
                    **sg_span(node).kwargs(),
                )


REMOVED_MATPLOTLIB = {
    "matplotlib.cm.get_cmap": ("3.9", "`matplotlib.colormaps[name]`"),
    "matplotlib.pyplot.cm.get_cmap": ("3.9", "`matplotlib.colormaps[name]`"),
    "matplotlib.pyplot.hold": ("3.0", "nothing (axes always hold)"),
    "matplotlib.pyplot.ishold": ("3.0", "nothing (axes always hold)"),
    "matplotlib.mlab.normpdf": ("3.1", "`scipy.stats.norm.pdf`"),
    "matplotlib.mlab.bivariate_normal": ("3.1", "`scipy.stats.multivariate_normal`"),
    "matplotlib.mlab.find": ("3.1", "`numpy.nonzero`"),
    "matplotlib.pylab.normpdf": ("3.1", "`scipy.stats.norm.pdf`"),
}
_REMOVED_AXES_METHODS = {
    "set_axis_bgcolor": ("2.2", "`.set_facecolor()`"),
    "get_axis_bgcolor": ("2.2", "`.get_facecolor()`"),
}


def _steps_linestyle(call: ast.Call) -> ast.Constant | None:
    """The ``ls='steps...'`` / ``linestyle='steps...'`` argument of a call, if any."""
    for k in call.keywords:
        value = k.value
        if (k.arg in ("ls", "linestyle") and isinstance(value, ast.Constant)
                and isinstance(value.value, str) and value.value.startswith("steps")):
            return value
    return None


class RemovedMatplotlibApi(Rule):
    """## What it does
    Checks for matplotlib functions and methods that were removed:
    `matplotlib.cm.get_cmap`, `plt.hold`, `mlab.normpdf`, `ax.set_axis_bgcolor()`,
    `gca(projection=...)`, and the `'steps'` line styles (`plot(x, ls='steps-mid')`), which
    are draw styles (`drawstyle='steps-mid'` is still valid).

    ## Why is this bad?
    The call fails with `AttributeError` (`TypeError` for `gca` with arguments,
    `ValueError` for a `'steps'` line style) on current matplotlib.

    ## Example
    ```python
    cmap = matplotlib.cm.get_cmap("viridis")
    ax = fig.gca(projection="3d")
    ```

    ## Use instead
    ```python
    cmap = matplotlib.colormaps["viridis"]
    ax = fig.add_subplot(projection="3d")
    ```
    """

    code = "NB509"
    name = "removed-matplotlib-api"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            for call, full in cell_calls(ctx, cell, result):
                func = call.func
                if full in REMOVED_MATPLOTLIB:
                    version, instead = REMOVED_MATPLOTLIB[full]
                    message = f"`{full}` was removed in matplotlib {version}; use {instead}"
                elif isinstance(func, ast.Attribute) and func.attr in _REMOVED_AXES_METHODS:
                    version, instead = _REMOVED_AXES_METHODS[func.attr]
                    message = f"`.{func.attr}()` was removed in matplotlib {version}; use {instead}"
                elif (isinstance(func, ast.Attribute) and func.attr == "gca"
                      and any(k.arg == "projection" for k in call.keywords)):
                    message = ("`gca(projection=...)` was removed in matplotlib 3.6; use"
                               " `fig.add_subplot(projection=...)`")
                else:
                    steps = _steps_linestyle(call)
                    if steps is None:
                        continue
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"Line style {steps.value!r} was removed in matplotlib 3.3 (a draw"
                        f" style, not a line style); use `drawstyle={steps.value!r}`",
                        **span(result, steps).kwargs(),
                    )
                    continue
                yield self.diagnostic(ctx, cell, message, **span(result, call).kwargs())


# Offset aliases pandas 3.0 removed (deprecated in 2.2) -> the alias to use instead.
REMOVED_FREQUENCIES = {
    "H": "h", "BH": "bh", "CBH": "cbh", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns",
    "M": "ME", "BM": "BME", "SM": "SME", "CBM": "CBME", "Q": "QE", "BQ": "BQE",
    "Y": "YE", "A": "YE", "BA": "BYE", "AS": "YS", "BAS": "BYS", "BY": "BYE",
}
_FREQUENCY_RE = re.compile(r"^(\d*)([A-Z]+)(-[A-Z]{3})?$")
# The new aliases of period-end offsets, which periods do not take ('ME' is not a period).
_PERIOD_END = frozenset({"ME", "BME", "SME", "CBME", "QE", "BQE", "YE", "BYE"})
_PERIOD_WORDS = frozenset({"period_range", "PeriodIndex", "PeriodDtype", "Period", "to_period"})


def _from_periods(node: ast.AST, periods: set[str]) -> bool:
    """Whether the expression mentions a period constructor or a name bound to periods."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and (child.id in periods or child.id in _PERIOD_WORDS):
            return True
        if isinstance(child, ast.Attribute) and child.attr in _PERIOD_WORDS:
            return True
    return False


def _period_names(ctx) -> set[str]:
    """The names the notebook binds to values computed from periods, through any number of
    assignments (``ps = pd.Series(..., index=pd.period_range(...))``, ``m = ps.resample(...)``;
    ``df.index = ...to_period()`` binds ``df``)."""
    assignments = []
    for _cell, result in ctx.python_cells:
        for node in nodes_of(ctx, result, ast.Assign, ast.AnnAssign, ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {base.id for target in targets for base in ast.walk(target)
                     if isinstance(base, ast.Name)}
            if node.value is not None and names:
                assignments.append((names, node.value))
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for names, value in assignments:
            if not names <= found and _from_periods(value, found):
                found |= names
                grew = True
    return found
# Calls whose frequency argument is an offset: (first positional, keyword).
_FREQUENCY_CALLS = {
    "date_range": "freq", "bdate_range": "freq", "resample": "rule", "asfreq": "freq",
    "Grouper": "freq",
}


def _frequency_argument(call: ast.Call, method: str) -> ast.Constant | None:
    keyword = _FREQUENCY_CALLS[method]
    value = next((k.value for k in call.keywords if k.arg in (keyword, "freq")), None)
    if value is None and method in ("resample", "asfreq") and call.args:
        value = call.args[0]
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value
    return None


class RemovedFrequencyAlias(Rule):
    """## What it does
    Checks the frequency of `pd.date_range`, `pd.bdate_range`, `.resample`, `.asfreq` and
    `pd.Grouper` for the offset aliases pandas 3.0 removed: `'H'`, `'T'`, `'S'`, `'L'`,
    `'U'`, `'N'` (now lower case: `'h'`, `'min'`, `'s'`, `'ms'`...) and the period-end
    aliases `'M'`, `'Q'`, `'Y'`, `'A'`, `'BM'`... (now `'ME'`, `'QE'`, `'YE'`, `'BME'`).
    Reported only when the installed pandas is 3.0 or later.

    ## Why is this bad?
    The call fails with `ValueError: Invalid frequency: H`.

    ## Example
    ```python
    hours = pd.date_range("2015-07-03", periods=8, freq="H")
    monthly = sales.resample("M").sum()
    ```

    ## Use instead
    ```python
    hours = pd.date_range("2015-07-03", periods=8, freq="h")
    monthly = sales.resample("ME").sum()
    ```

    Periods keep the old period-end aliases: for a `PeriodIndex`, `'M'` and `'Q'` are right
    and `'ME'` is an error. A `resample` or `asfreq` on a value the notebook computed from
    periods (`pd.period_range`, `pd.Period`, `PeriodIndex`, `.to_period()`, or a name
    assigned from one of those, at any remove) is not reported for a period-end alias; the
    other aliases (`'H'`, `'T'`...) are, as periods dropped them too.

    ## Fix safety
    The fix writes the new alias, which means the same offset (pandas has both since 2.2,
    and the rule only runs with pandas 3 installed); it is safe. Literals written with
    escapes or in f-strings are left alone.
    """

    code = "NB510"
    name = "removed-frequency-alias"
    rerun_blocker = True
    severity = Severity.ERROR
    fix_applicability = Applicability.SAFE

    def check(self, ctx):
        from ..rerun import removed_here

        if not removed_here("pandas", "3.0"):
            return
        periods: set[str] | None = None  # names bound to period data, found when needed
        for cell, result in ctx.python_cells:
            for call, _name in cell_calls(ctx, cell, result):
                func = call.func
                method = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if method not in _FREQUENCY_CALLS:
                    continue
                literal = _frequency_argument(call, method)
                match = _FREQUENCY_RE.match(literal.value) if literal is not None else None
                if match is None or match.group(2) not in REMOVED_FREQUENCIES:
                    continue
                if REMOVED_FREQUENCIES[match.group(2)] in _PERIOD_END and isinstance(
                        func, ast.Attribute):
                    periods = _period_names(ctx) if periods is None else periods
                    if _from_periods(func.value, periods):
                        continue  # a PeriodIndex, for which the old alias is right
                count, alias, anchor = match.group(1), match.group(2), match.group(3) or ""
                new = f"{count}{REMOVED_FREQUENCIES[alias]}{anchor}"
                where = span(result, literal)
                # The literal as written (`'H'` or `"H"`), for the fix to replace in place.
                text = result.masked_source.split("\n")[where.line - 1][
                    where.column - 1 : where.end_column - 1
                ] if where.line == where.end_line else ""
                fixable = text[1:-1] == literal.value and text[:1] in "'\"" and text[:1]
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"Frequency {literal.value!r} was removed in pandas 3.0; use {new!r}",
                    **where.kwargs(),
                    fix_title=f"Use {new!r}" if fixable else None,
                    data={"old": text, "new": f"{text[:1]}{new}{text[-1:]}"},
                )

    def fix(self, ctx, diagnostic):
        _replace_at(ctx, diagnostic, diagnostic.data["old"], diagnostic.data["new"])


# rcParams that current matplotlib no longer has -> what to do instead. Reported only
# with matplotlib 3.9 or later installed (every key checked against it).
REMOVED_RCPARAMS = {
    "axes.color_cycle": "use `axes.prop_cycle` (`cycler(color=[...])`)",
    "axes.hold": "delete the setting (axes always hold)",
    "text.latex.unicode": "delete the setting (unicode is always on)",
    "text.latex.preview": "delete the setting",
    "savefig.frameon": "use `savefig.facecolor` or `savefig.transparent`",
    "savefig.jpeg_quality": "pass `pil_kwargs={'quality': ...}` to `savefig`",
    "examples.directory": "delete the setting",
    "datapath": "use `matplotlib.get_data_path()`",
    "verbose.level": "use Python's `logging`",
    "verbose.fileo": "use Python's `logging`",
    "pgf.debug": "delete the setting",
    "backend.qt4": "use `backend`",
    "keymap.all_axes": "delete the setting",
    "animation.avconv_path": "use `animation.ffmpeg_path`",
    "mathtext.fallback_to_cm": "use `mathtext.fallback`",
}
_RCPARAMS_SINCE = ("matplotlib", "3.9")


def _rcparam_keys(call_or_subscript: ast.AST):
    """(key, node) for the rcParam names an expression sets or reads: ``rcParams['k']``,
    ``rcParams.update({'k': v})``, ``rc_context({'k': v})``, ``rc('axes', color_cycle=v)``."""
    node = call_or_subscript
    if isinstance(node, ast.Subscript):
        base = dotted(node.value) or ""
        if base.endswith("rcParams") and isinstance(node.slice, ast.Constant):
            yield node.slice.value, node.slice
        return
    if not isinstance(node, ast.Call):
        return
    name = dotted(node.func) or ""
    if name.endswith(("rcParams.update", "rc_context")):
        for arg in node.args:
            if isinstance(arg, ast.Dict):
                for key in arg.keys:
                    if isinstance(key, ast.Constant):
                        yield key.value, key
    elif (name.rsplit(".", 1)[-1] == "rc" and node.args
          and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        for k in node.keywords:
            if k.arg:
                yield f"{node.args[0].value}.{k.arg}", k


class RemovedRcParam(Rule):
    """## What it does
    Checks for matplotlib settings (rcParams) that current matplotlib no longer has:
    `axes.color_cycle`, `axes.hold`, `text.latex.unicode`, `savefig.frameon`,
    `savefig.jpeg_quality`, `datapath`..., read or set through `rcParams[...]`,
    `rcParams.update({...})`, `rc_context({...})` or `rc('axes', color_cycle=...)`.
    Reported only when the installed matplotlib is 3.9 or later.

    ## Why is this bad?
    The line fails with `KeyError: 'axes.color_cycle is not a valid rc parameter'`, usually
    in the first cell, where the plot style is set.

    ## Example
    ```python
    plt.rcParams["axes.color_cycle"] = ["#348ABD", "#A60628"]
    ```

    ## Use instead
    ```python
    from cycler import cycler
    plt.rcParams["axes.prop_cycle"] = cycler(color=["#348ABD", "#A60628"])
    ```
    """

    code = "NB511"
    name = "removed-rcparam"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        from ..rerun import removed_here

        if not any("rc" in result.masked_source for _cell, result in ctx.python_cells):
            return
        if not removed_here(*_RCPARAMS_SINCE):
            return
        for cell, result in ctx.python_cells:
            for node in nodes_of(ctx, result, ast.Subscript, ast.Call):
                for key, where in _rcparam_keys(node):
                    if key in REMOVED_RCPARAMS:
                        yield self.diagnostic(
                            ctx,
                            cell,
                            f"rcParam {key!r} no longer exists in matplotlib;"
                            f" {REMOVED_RCPARAMS[key]}",
                            **span(result, where).kwargs(),
                        )


# Modules removed from packages other than scikit-learn (NB501):
# module -> (distribution, version that removed it, use instead).
REMOVED_MODULES = {
    "IPython.html": ("ipython", "4.0", "ipywidgets (widgets) and notebook"),
    "IPython.kernel": ("ipython", "4.0", "ipykernel and jupyter_client"),
    "IPython.parallel": ("ipython", "4.0", "ipyparallel"),
    "IPython.nbformat": ("ipython", "4.0", "nbformat"),
    "IPython.nbconvert": ("ipython", "4.0", "nbconvert"),
    "IPython.qt": ("ipython", "4.0", "qtconsole"),
    "IPython.config": ("ipython", "4.0", "traitlets.config"),
    "IPython.utils.traitlets": ("ipython", "4.0", "traitlets"),
    "pandas.io.data": ("pandas", "0.19", "pandas_datareader.data"),
    "pandas.io.wb": ("pandas", "0.19", "pandas_datareader.wb"),
    "pandas.tools.plotting": ("pandas", "0.25", "pandas.plotting"),
    "pandas.tools.merge": ("pandas", "0.25", "pandas.merge / pandas.concat"),
    "pandas.tseries.tools": ("pandas", "0.25", "pandas.to_datetime"),
    "pandas.lib": ("pandas", "0.25", "the public pandas API"),
    "pandas.core.datetools": ("pandas", "0.25", "pandas.tseries.offsets"),
    "matplotlib.finance": ("matplotlib", "2.2", "mplfinance"),
    "scipy.weave": ("scipy", "0.15", "Cython or numba"),
}


class RemovedModule(Rule):
    """## What it does
    Checks for imports of modules that IPython, pandas, matplotlib and SciPy removed:
    `IPython.html` (`from IPython.html import widgets`), `IPython.kernel`,
    `IPython.parallel`, `pandas.io.data`, `pandas.tools.plotting`, `matplotlib.finance`...
    Reported only when the installed version no longer has the module (scikit-learn's
    removed modules are NB501's).

    ## Why is this bad?
    The import fails with `ModuleNotFoundError`, usually in the first cell.

    ## Example
    ```python
    from IPython.html import widgets
    from pandas.tools.plotting import scatter_matrix
    ```

    ## Use instead
    ```python
    import ipywidgets as widgets
    from pandas.plotting import scatter_matrix
    ```
    """

    code = "NB512"
    name = "removed-module"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        from ..rerun import removed_here

        for cell, result in ctx.python_cells:
            for node in nodes_of(ctx, result, ast.Import, ast.ImportFrom):
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif node.module and node.level == 0:
                    modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                else:
                    continue
                for module in modules:
                    found = next((m for m in REMOVED_MODULES
                                  if module == m or module.startswith(m + ".")), None)
                    if found is None or not removed_here(*REMOVED_MODULES[found][:2]):
                        continue
                    package, version, instead = REMOVED_MODULES[found]
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"`{found}` was removed in {package} {version}; use {instead}",
                        **span(result, node).kwargs(),
                    )
                    break


# Reductions that raise on text columns; `sum`, `min` and `max` work on text and stay out.
_TEXT_FAILING_REDUCTIONS = {"mean", "median", "std", "var", "sem", "prod", "skew", "kurt"}


def _reduced_frame(call: ast.Call) -> tuple[str, ast.AST, set[str]] | None:
    """(frame name, receiver, grouping columns) for ``frame.mean()``,
    ``frame[mask].mean()`` and ``frame.groupby(key).mean()``; None for anything that
    reduces a single column (``frame['col'].mean()``, ``frame.groupby(k)['col'].mean()``)."""
    receiver = call.func.value
    keys: set[str] = set()
    if (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
            and receiver.func.attr == "groupby"):
        by = receiver.args[0] if receiver.args else keyword_argument(receiver, "by")
        by = by.value if isinstance(by, ast.keyword) else by
        items = by.elts if isinstance(by, ast.List | ast.Tuple) else [by]
        keys = {e.value for e in items if isinstance(e, ast.Constant)}
        receiver = receiver.func.value
    frame = receiver
    if isinstance(frame, ast.Subscript):
        if isinstance(frame.slice, ast.Constant | ast.List | ast.Tuple | ast.Slice):
            return None
        frame = frame.value
    if not isinstance(frame, ast.Name):
        return None
    return frame.id, receiver, keys


class TextColumnReduction(Rule):
    """## What it does
    Checks for `mean()`, `median()`, `std()`, `var()`, `sem()`, `prod()`, `skew()` and
    `kurt()` of a whole frame, or of a `groupby`, without `numeric_only=`, where the frame
    was built in the notebook from a dict of lists and some of its columns hold text.
    Only frames whose columns the notebook's own literals show are judged. Reported only
    when the installed pandas is 2.0 or later.

    ## Why is this bad?
    Before pandas 2.0 such reductions dropped the text columns silently; since 2.0
    (`numeric_only=False` by default) they fail with `TypeError`, e.g.
    `dtype 'str' does not support operation 'mean'`.

    ## Example
    ```python
    scores = pd.DataFrame({"team": ["a", "a", "b"], "name": ["Ann", "Bo", "Cy"],
                           "score": [4, 2, 5]})
    scores.groupby("team").mean()
    ```

    ## Use instead
    ```python
    scores.groupby("team").mean(numeric_only=True)
    ```
    """

    code = "NB513"
    name = "text-column-reduction"
    rerun_blocker = True
    severity = Severity.ERROR

    def check(self, ctx):
        from ..rerun import removed_here

        if not removed_here("pandas", "2.0") or not mentions(ctx, "DataFrame"):
            return
        frames = literal_frames(ctx)
        if not frames:
            return
        for cell, result in ctx.python_cells:
            for call, _name in cell_calls(ctx, cell, result):
                func = call.func
                if (not isinstance(func, ast.Attribute)
                        or func.attr not in _TEXT_FAILING_REDUCTIONS
                        or keyword_argument(call, "numeric_only") is not None):
                    continue
                reduced = _reduced_frame(call)
                frame = frames.get(reduced[0]) if reduced else None
                if frame is None:
                    continue
                text = [c for c in frame.columns if c in frame.text and c not in reduced[2]]
                if text:
                    shown = ", ".join(f"`{c}`" for c in text)
                    yield self.diagnostic(
                        ctx,
                        cell,
                        f"`{func.attr}()` over the text column(s) {shown} fails since pandas"
                        f" 2.0; pass `numeric_only=True` or select the numeric columns",
                        **span(result, call).kwargs(),
                    )


RULES = (
    RemovedSklearnModule,
    RemovedSklearnName,
    SeabornStyleName,
    GroupbyAxis,
    DataFrameAppend,
    RemovedPandasAttribute,
    RemovedPandasMethod,
    RemovedKeywordArgument,
    RemovedMatplotlibApi,
    RemovedFrequencyAlias,
    RemovedRcParam,
    RemovedModule,
    TextColumnReduction,
)
