"""NB6xx: machine-learning hygiene: unseeded randomness, leakage, evaluation on training data.

The rules follow the notebook top to bottom (the order of a rerun) and track names
simply: which name holds a scaler, which data a model was fitted on. They see through
subscripts and method calls (`df[cols]`, `df.drop(...)` are "df") but not through
arbitrary functions, so they miss some cases rather than guess.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ...analysis import _LEAVES, CellAnalysis
from ...notebook import Cell
from ..rule import LintContext, Rule, Severity
from ._helpers import (
    call_name,
    cell_calls,
    child_nodes,
    keyword,
    mentions,
    nodes_of,
    span,
)

__all__ = ["RULES"]

_SEED_ALL = ("seed_everything", "set_seed", "set_random_seed")


@dataclass(frozen=True, slots=True)
class _Call:
    cell: Cell
    result: CellAnalysis
    node: ast.Call
    name: str  # qualified name, "" when the callee is not a dotted name


def _calls(ctx: LintContext) -> list[_Call]:
    """Every call of the notebook in top-to-bottom order."""

    def build() -> list[_Call]:
        return [
            _Call(cell, result, call, name)
            for cell, result in ctx.python_cells
            for call, name in cell_calls(ctx, cell, result)
        ]

    return ctx.memo("ml_calls", build)


def _seeds_all(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in _SEED_ALL


class _UnseededRule(Rule):
    """Reports the first unseeded random call of each cell until a seed call is seen."""

    library = ""

    def is_seed(self, name: str) -> bool:
        raise NotImplementedError

    def is_random(self, call: _Call) -> bool:
        raise NotImplementedError

    def always(self, call: _Call) -> str | None:
        """A message for calls that are unseeded whatever the global seed (e.g. RNG objects)."""
        return None

    def check(self, ctx):
        seeded = False
        reported: set[int] = set()
        for call in _calls(ctx):
            if self.is_seed(call.name) or _seeds_all(call.name):
                seeded = True
                continue
            message = self.always(call)
            if message is None and not seeded and self.is_random(call):
                message = (f"`{call.name}()` draws from {self.library}'s global random generator,"
                           " which is never seeded above; seed it once at the top")
            if message is None or call.cell.index in reported:
                continue
            reported.add(call.cell.index)
            yield self.diagnostic(ctx, call.cell, message, **span(call.result, call.node).kwargs())


_PY_RANDOM = {
    "random", "randint", "choice", "choices", "shuffle", "sample", "uniform", "gauss",
    "normalvariate", "randrange", "betavariate", "expovariate", "triangular", "getrandbits",
    "lognormvariate", "vonmisesvariate", "gammavariate", "paretovariate", "weibullvariate",
    "randbytes",
}


class UnseededPythonRandom(_UnseededRule):
    """## What it does
    Checks for calls of the standard library's `random` module functions
    (`random.random()`, `random.shuffle()`, `random.choice()`...) when no
    `random.seed(...)` call comes before them, and for `random.Random()` without a seed.
    The first such call of each cell is reported.

    ## Why is this bad?
    Every run shuffles, samples and splits differently: results cannot be reproduced, and
    a difference between two runs cannot be told apart from a change in the code.

    ## Example
    ```python
    import random
    random.shuffle(rows)
    ```

    ## Use instead
    ```python
    import random
    random.seed(42)
    random.shuffle(rows)
    ```
    """

    code = "NB601"
    name = "unseeded-python-random"
    library = "Python"

    def is_seed(self, name):
        return name == "random.seed"

    def is_random(self, call):
        module, _, function = call.name.rpartition(".")
        return module == "random" and function in _PY_RANDOM

    def always(self, call):
        if call.name == "random.Random" and not call.node.args and not call.node.keywords:
            return "`random.Random()` without a seed differs on every run; pass a seed"
        return None


_NUMPY_NOT_DRAWS = {
    "seed", "default_rng", "RandomState", "Generator", "SeedSequence", "get_state",
    "set_state", "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64", "BitGenerator",
}


def _no_seed_argument(call: ast.Call, name: str = "seed") -> bool:
    value = call.args[0] if call.args else getattr(keyword(call, name), "value", None)
    return value is None or (isinstance(value, ast.Constant) and value.value is None)


class UnseededNumpyRandom(_UnseededRule):
    """## What it does
    Checks for draws from NumPy's legacy global generator (`np.random.rand()`,
    `np.random.choice()`, `np.random.shuffle()`...) with no `np.random.seed(...)` before
    them, and for `np.random.default_rng()` or `np.random.RandomState()` created without a
    seed (the global seed does not apply to those). The first such call of each cell is
    reported.

    ## Why is this bad?
    Sampled data, initial weights and shuffles change on every run: results cannot be
    reproduced or compared.

    ## Example
    ```python
    rng = np.random.default_rng()
    noise = rng.normal(size=100)
    ```

    ## Use instead
    ```python
    rng = np.random.default_rng(42)
    noise = rng.normal(size=100)
    ```
    """

    code = "NB602"
    name = "unseeded-numpy-random"
    library = "NumPy"

    def is_seed(self, name):
        return name == "numpy.random.seed"

    def is_random(self, call):
        module, _, function = call.name.rpartition(".")
        return module == "numpy.random" and function not in _NUMPY_NOT_DRAWS

    def always(self, call):
        if call.name in ("numpy.random.default_rng", "numpy.random.RandomState"):
            if _no_seed_argument(call.node):
                function = call.name.rsplit(".", 1)[-1]
                return (f"`{function}()` without a seed differs on every run (the global"
                        " `np.random.seed` does not apply); pass a seed")
        return None


_TORCH_RANDOM = {
    "torch.rand", "torch.randn", "torch.randint", "torch.randperm", "torch.rand_like",
    "torch.randn_like", "torch.randint_like", "torch.normal", "torch.bernoulli",
    "torch.multinomial", "torch.poisson",
}
_TORCH_LAYERS = {
    "Linear", "Conv1d", "Conv2d", "Conv3d", "LSTM", "GRU", "RNN", "Embedding", "Bilinear",
    "TransformerEncoderLayer", "TransformerDecoderLayer", "MultiheadAttention",
}


class UnseededTorch(_UnseededRule):
    """## What it does
    Checks for PyTorch random draws (`torch.rand()`, `torch.randn()`, `torch.randperm()`...)
    and layers with randomly initialised weights (`nn.Linear`, `nn.Conv2d`, `nn.LSTM`...)
    with no `torch.manual_seed(...)` (or `seed_everything`/`set_seed`) before them. The
    first such call of each cell is reported.

    ## Why is this bad?
    Initial weights and sampled batches differ on every run: a model cannot be retrained
    to the same result, and an improvement cannot be told apart from luck.

    ## Example
    ```python
    model = torch.nn.Linear(10, 1)
    ```

    ## Use instead
    ```python
    torch.manual_seed(42)
    model = torch.nn.Linear(10, 1)
    ```
    """

    code = "NB603"
    name = "unseeded-torch"
    library = "PyTorch"

    def is_seed(self, name):
        return name in ("torch.manual_seed", "torch.random.manual_seed")

    def is_random(self, call):
        if call.name in _TORCH_RANDOM:
            return True
        module, _, layer = call.name.rpartition(".")
        return module == "torch.nn" and layer in _TORCH_LAYERS


# scikit-learn callables that draw random numbers unless given random_state.
_RANDOM_STATE_USERS = {
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
    "ExtraTreesRegressor", "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor", "AdaBoostClassifier",
    "AdaBoostRegressor", "BaggingClassifier", "BaggingRegressor", "IsolationForest",
    "RandomTreesEmbedding", "DecisionTreeClassifier", "DecisionTreeRegressor", "KMeans",
    "MiniBatchKMeans", "GaussianMixture", "BayesianGaussianMixture", "TSNE", "MLPClassifier",
    "MLPRegressor", "SGDClassifier", "SGDRegressor", "Perceptron", "SpectralClustering",
    "NMF", "LatentDirichletAllocation", "TruncatedSVD", "train_test_split", "ShuffleSplit",
    "StratifiedShuffleSplit", "RandomizedSearchCV", "make_classification",
    "make_regression", "make_blobs", "make_moons", "make_circles", "permutation_importance",
}
# These only draw random numbers with shuffle=True.
_SHUFFLE_SPLITTERS = {"KFold", "StratifiedKFold", "RepeatedKFold", "RepeatedStratifiedKFold"}


def _needs_random_state(call: _Call) -> bool:
    if not call.name.startswith("sklearn."):
        return False
    function = call.name.rsplit(".", 1)[-1]
    node = call.node
    if any(k.arg is None for k in node.keywords):  # **params may carry random_state
        return False
    state = keyword(node, "random_state")
    if state is not None:
        return isinstance(state.value, ast.Constant) and state.value.value is None
    if function in _SHUFFLE_SPLITTERS:
        shuffle = keyword(node, "shuffle")
        return shuffle is not None and isinstance(shuffle.value, ast.Constant) and bool(
            shuffle.value.value
        )
    return function in _RANDOM_STATE_USERS


class MissingRandomState(Rule):
    """## What it does
    Checks scikit-learn estimators, splitters and dataset generators that draw random
    numbers (`RandomForestClassifier`, `KMeans`, `train_test_split`,
    `KFold(shuffle=True)`, `make_classification`...) for a missing `random_state`.
    Calls after `np.random.seed(...)` are not reported: scikit-learn then draws from the
    seeded global generator.

    ## Why is this bad?
    Each run gets another split, another forest, another clustering: metrics move between
    runs with no change in code or data, and a saved result cannot be reproduced.

    ## Example
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    model = RandomForestClassifier(n_estimators=200)
    ```

    ## Use instead
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    model = RandomForestClassifier(n_estimators=200, random_state=0)
    ```
    """

    code = "NB604"
    name = "missing-random-state"

    def check(self, ctx):
        seeded = False
        handed = _handed_to_seeded_call(ctx)
        for call in _calls(ctx):
            if call.name == "numpy.random.seed" or _seeds_all(call.name):
                seeded = True
            elif not seeded and _needs_random_state(call) and not handed(call.node):
                function = call.name.rsplit(".", 1)[-1]
                yield self.diagnostic(
                    ctx,
                    call.cell,
                    f"`{function}` draws random numbers but has no `random_state`; pass"
                    " `random_state=<int>` so reruns give the same result",
                    **span(call.result, call.node).kwargs(),
                )


def _handed_to_seeded_call(ctx: LintContext):
    """``call -> bool``: whether an estimator built by ``call`` is handed to a call that
    has a ``random_state`` (``BaggingClassifier(tree, random_state=1)``), which seeds it:
    built inside that call's arguments, or assigned to a name passed to it."""
    names: set[str] = set()
    nested: set[int] = set()
    assigned: dict[int, set[str]] = {}
    for _cell, result in ctx.python_cells:
        for node in nodes_of(ctx, result, ast.Assign):
            if isinstance(node.value, ast.Call):
                assigned[id(node.value)] = _targets(node)
        for node in nodes_of(ctx, result, ast.Call):
            if any(k.arg == "random_state" for k in node.keywords):
                for arg in (*node.args, *(k.value for k in node.keywords)):
                    if isinstance(arg, ast.Name):
                        names.add(arg.id)
                    elif isinstance(arg, ast.Call):
                        nested.add(id(arg))
    return lambda call: id(call) in nested or bool(assigned.get(id(call), set()) & names)


# Preprocessing steps that learn from the data they are fitted on.
_TRANSFORMERS = {
    "StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler", "QuantileTransformer",
    "PowerTransformer", "PCA", "TruncatedSVD", "SimpleImputer", "KNNImputer",
    "IterativeImputer", "OneHotEncoder", "OrdinalEncoder", "TargetEncoder", "SelectKBest",
    "SelectPercentile", "SelectFromModel", "RFE", "RFECV", "TfidfVectorizer",
    "CountVectorizer", "KBinsDiscretizer", "LabelEncoder",
}


def _base(expr: ast.AST | None) -> str | None:
    """The variable an expression reads data from: `df[cols].values` -> `df`."""
    while expr is not None:
        if isinstance(expr, ast.Name):
            return expr.id
        if isinstance(expr, (ast.Subscript, ast.Attribute)):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            expr = expr.func.value
        else:
            return None
    return None


def _is_transformer_call(ctx: LintContext, node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (call_name(ctx, node) or "").rsplit(".", 1)[
        -1
    ] in _TRANSFORMERS


def _statements(ctx: LintContext) -> list[tuple[Cell, CellAnalysis, ast.stmt, set[str],
                                                list[ast.Call]]]:
    """Every statement (nested ones included) that calls something or assigns, in
    top-to-bottom order, with the names it assigns and its own calls (not those of
    statements nested in its body); computed once per notebook."""

    def build():
        found = []
        for cell, result in ctx.python_cells:
            own = _calls_by_statement(result.tree)
            statements = list(nodes_of(ctx, result, *_STATEMENTS))
            statements.sort(key=lambda n: (n.lineno, n.col_offset))
            for stmt in statements:
                calls = own.get(id(stmt))
                if calls is None and not isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                    continue  # no call and no binding: nothing for the rules to follow
                calls = sorted(calls or [], key=lambda n: (n.lineno, n.col_offset))
                found.append((cell, result, stmt, _targets(stmt), calls))
        return found

    return ctx.memo("ml_statements", build)


_STATEMENTS = tuple(ast.stmt.__subclasses__())


def _calls_by_statement(tree: ast.Module) -> dict[int, list[ast.Call]]:
    """id(statement) -> the calls whose innermost enclosing statement it is (one pass;
    a call is listed before the calls nested in it)."""
    found: dict[int, list[ast.Call]] = {}
    owners: list[ast.AST] = [tree]
    while owners:
        owner = owners.pop()
        calls: list[ast.Call] = []
        stack = child_nodes(owner)
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind in _LEAVES:
                continue
            if isinstance(node, ast.stmt):
                owners.append(node)
                continue
            if kind is ast.Call:
                calls.append(node)
            children = child_nodes(node)
            if children:
                children.reverse()
                stack.extend(children)
        if calls and owner is not tree:
            found[id(owner)] = calls
    return found


def _targets(stmt: ast.stmt) -> set[str]:
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    return {
        n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)
    }


class FitBeforeSplit(Rule):
    """## What it does
    Checks for preprocessing steps that learn from data (scalers, encoders, imputers,
    PCA, feature selectors, vectorizers) fitted on a dataset that is split into train and
    test afterwards with `train_test_split`.

    ## Why is this bad?
    The scaler has seen the test rows: their mean, variance, categories or vocabulary
    leak into training, and the test score is optimistic. The model will do worse on new
    data than the notebook says.

    ## Example
    ```python
    X_scaled = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, random_state=0)
    ```

    ## Use instead
    Split first, fit on the training part only (a `Pipeline` does this for you):
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ```
    """

    code = "NB605"
    name = "fit-before-split"
    severity = Severity.ERROR

    def check(self, ctx):
        # Only a split reports anything, and a split is named in the source (its call or
        # its import): most notebooks are done with at a substring test.
        if not mentions(ctx, "train_test_split"):
            return
        transformers: set[str] = set()  # names holding a preprocessing step
        fitted: dict[str, tuple[Cell, CellAnalysis, ast.Call, str]] = {}  # data name -> fit
        reported: set[int] = set()
        for cell, result, stmt, targets, calls in _statements(ctx):
            for call in calls:
                func = call.func
                if self._is_fit(ctx, call, transformers):
                    data = _base(call.args[0])
                    if data is None:
                        continue
                    fit = (cell, result, call, data)
                    fitted[data] = fit
                    if func.attr == "fit_transform":
                        fitted.update(dict.fromkeys(targets, fit))
                elif (call_name(ctx, call) or "").endswith("train_test_split"):
                    for arg in call.args:
                        fit = fitted.get(_base(arg) or "")
                        if fit is None or id(fit[2]) in reported:
                            continue
                        reported.add(id(fit[2]))
                        fit_cell, fit_result, fit_call, data = fit
                        yield self.diagnostic(
                            ctx,
                            fit_cell,
                            f"Preprocessing is fitted on `{data}` before it is split into train"
                            f" and test ({cell.label}): test data leaks into training; split"
                            " first, then fit on the training part",
                            **span(fit_result, fit_call).kwargs(),
                        )
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                value = stmt.value
                # `StandardScaler()` and `StandardScaler().fit(X)` both bind a scaler;
                # binding the name to anything else ends what was known about it.
                if _is_transformer_call(ctx, value) or (
                    isinstance(value, ast.Call) and self._is_fit(ctx, value, transformers)
                    and value.func.attr == "fit"
                ):
                    transformers |= targets
                else:
                    transformers -= targets

    @staticmethod
    def _is_fit(ctx: LintContext, call: ast.Call, transformers: set[str]) -> bool:
        """``scaler.fit(X)`` / ``StandardScaler().fit_transform(X)``-like calls."""
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in ("fit", "fit_transform")
            and bool(call.args)
            and (_base(func.value) in transformers or _is_transformer_call(ctx, func.value))
        )


_PREDICT = {"predict", "predict_proba", "decision_function"}
_FIT_RE = re.compile(r"\bfit\b")


class EvaluateOnTrainingData(Rule):
    """## What it does
    Checks for models evaluated only on the data they were fitted on:
    `model.score(X, y)` or a `sklearn.metrics` function applied to `model.predict(X)` after
    `model.fit(X, y)` (or `model = Model().fit(X, y)`), when the notebook never evaluates
    that model on other data.

    ## Why is this bad?
    A model scores well on the rows it has memorised. Reporting that score says nothing
    about new data: a 99% training accuracy is often a 70% model.

    ## Example
    ```python
    model.fit(X, y)
    print(accuracy_score(y, model.predict(X)))
    ```

    ## Use instead
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model.fit(X_train, y_train)
    print(accuracy_score(y_test, model.predict(X_test)))
    ```
    """

    code = "NB606"
    name = "evaluate-on-training-data"
    severity = Severity.WARNING

    def check(self, ctx):
        # Nothing is evaluated before a `.fit(...)`, whose name is a word of the source.
        if not any(_FIT_RE.search(result.masked_source) for _cell, result in ctx.python_cells):
            return
        fitted: dict[str, str] = {}  # model name -> base name of the data it was fitted on
        predictions: dict[str, tuple[str, bool]] = {}  # name -> (model, on training data)
        on_train: dict[str, list[tuple[Cell, CellAnalysis, ast.Call]]] = {}
        elsewhere: set[str] = set()
        for cell, result, _stmt, targets, calls in _statements(ctx):
            for call in calls:
                func = call.func
                model = _base(func.value) if isinstance(func, ast.Attribute) else None
                if (isinstance(func, ast.Attribute) and func.attr == "fit" and call.args
                        and isinstance(func.value, ast.Call)):
                    # `clf = Model(...).fit(X, y)`: the fitted model is the assigned name.
                    data = _base(call.args[0])
                    for target in targets if data else ():
                        fitted[target] = data
                    continue
                if model and func.attr == "fit" and call.args:
                    data = _base(call.args[0])
                    if data:
                        fitted[model] = data
                    continue
                if model in fitted and func.attr in _PREDICT | {"score"} and call.args:
                    training = _base(call.args[0]) == fitted[model]
                    if func.attr == "score" or _inside_metric(ctx, calls, call):
                        self._record(model, training, (cell, result, call), on_train, elsewhere)
                    elif func.attr in _PREDICT:
                        for target in targets:
                            predictions[target] = (model, training)
                    continue
                if (call_name(ctx, call) or "").startswith("sklearn.metrics."):
                    for arg in (*call.args, *(k.value for k in call.keywords)):
                        if isinstance(arg, ast.Name) and arg.id in predictions:
                            model, training = predictions[arg.id]
                            self._record(model, training, (cell, result, call), on_train,
                                         elsewhere)
        for model, places in on_train.items():
            if model in elsewhere:
                continue
            for cell, result, call in places:
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"`{model}` is evaluated on the data it was fitted on, and on nothing"
                    " else; evaluate it on held-out data",
                    **span(result, call).kwargs(),
                )

    @staticmethod
    def _record(model, training, place, on_train, elsewhere) -> None:
        if training:
            on_train.setdefault(model, []).append(place)
        else:
            elsewhere.add(model)


def _inside_metric(ctx: LintContext, calls: list[ast.Call], inner: ast.Call) -> bool:
    """True when ``inner`` is an argument of a ``sklearn.metrics`` call among ``calls``."""
    for call in calls:
        if call is inner or not (call_name(ctx, call) or "").startswith("sklearn.metrics."):
            continue
        if any(node is inner for arg in (*call.args, *(k.value for k in call.keywords))
               for node in ast.walk(arg)):
            return True
    return False


RULES = (
    UnseededPythonRandom,
    UnseededNumpyRandom,
    UnseededTorch,
    MissingRandomState,
    FitBeforeSplit,
    EvaluateOnTrainingData,
)
