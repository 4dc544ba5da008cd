"""Def-use analysis: Python's scoping rules, IPython syntax, and the notebook-order queries."""

from __future__ import annotations

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.analysis import analyze_notebook, analyze_source, mask_ipython
from nbprod.notebook import loads


def facts(source: str):
    result = analyze_source(source)
    return set(result.defines), set(result.free_uses), set(result.function_reads)


@pytest.mark.parametrize(
    ("source", "defines", "uses", "function_reads"),
    [
        # comprehension targets stay inside; the first iterable is read outside
        ("[x for x in range(3)]\nx", set(), {"x"}, set()),
        ("[y for x in data for y in x]", set(), {"data"}, set()),
        ("[[y for y in x] for x in data]", set(), {"data"}, set()),
        ("{k: v for k, v in pairs.items() if v > lim}", set(), {"pairs", "lim"}, set()),
        # walrus escapes the comprehension
        ("[y for x in data if (y := x)]\ny", {"y"}, {"data"}, set()),
        # lambda parameters are local to the lambda
        ("[lambda v: v + w for _ in a]", set(), {"a", "w"}, set()),
        ("key = lambda row: row[col]", {"key"}, {"col"}, set()),
        # augmented assignment reads first
        ("x += 1", {"x"}, {"x"}, set()),
        ("x = 1\nx += 1", {"x"}, set(), set()),
        # del unbinds
        ("x = 1\ndel x", set(), set(), set()),
        ("del x\nx", set(), {"x"}, set()),
        # a bare annotation does not bind
        ("x: int\nx", set(), {"x"}, set()),
        ("x: int = 1\nx", {"x"}, set(), set()),
        # except-as names live in the handler only
        ("try:\n    pass\nexcept E as e:\n    e\ne", set(), {"E", "e"}, set()),
        # function bodies run later: their global reads are kept apart
        ("def f(a, b=default):\n    return a + g", {"f"}, {"default"}, {"g"}),
        ("def f():\n    return [t for t in g] + [t]", {"f"}, set(), {"g", "t"}),
        ("def f():\n    x = 1\n    def g():\n        return x + y\n    return g", {"f"}, set(),
         {"y"}),
        # global and nonlocal
        ("def f():\n    global g\n    g = 1\n    return h", {"f", "g"}, set(), {"h"}),
        ("def outer():\n    v = 1\n    def inner():\n        nonlocal v\n        v += w\n"
         "    return inner", {"outer"}, set(), {"w"}),
        # class bodies run now; their names are invisible to methods and comprehensions
        ("class A:\n    k = 1\n    z = [k for _ in r]\n    def m(self):\n        return k",
         {"A"}, {"k", "r"}, {"k"}),
        ("class A:\n    k = k + 1", {"A"}, {"k"}, set()),
        ("class B(Base, metaclass=M):\n    pass", {"B"}, {"Base", "M"}, set()),
        # imports, for loops, with, match
        ("import os.path\nos", {"os"}, set(), set()),
        ("for i in items:\n    total = i\ni", {"i", "total"}, {"items"}, set()),
        ("with open(p) as (a, b):\n    a", {"a", "b"}, {"p"}, set()),
        ("match cmd:\n    case {'k': v, **rest}:\n        pass\n    case [1, *others]:\n"
         "        pass", {"v", "rest", "others"}, {"cmd"}, set()),
        # attribute and subscript stores read the object
        ("a.b = 1\nc[0] = 2", set(), {"a", "c"}, set()),
        ("f'{name!r}'", set(), {"name"}, set()),
    ],
)
def test_python_scoping(source, defines, uses, function_reads):
    assert facts(source) == (defines, uses, function_reads)


def test_augmented_deleted_and_star_imports_are_recorded():
    result = analyze_source("n += 1\ndel m\nfrom os import *\nfrom pandas import *")
    assert result.augmented == {"n": 1}
    assert result.deletes == {"m": 2}
    assert result.star_imports == [("os", 3), ("pandas", 4)]


def test_functions_map_to_the_globals_they_read():
    result = analyze_source("def f():\n    return a\nclass C:\n    def m(self):\n        return b")
    assert result.functions == {"f": {"a"}, "C": {"b"}}


@pytest.mark.parametrize(
    ("source", "kinds", "defines"),
    [
        ("%matplotlib inline\nx = 1", [("line", "matplotlib")], {"x"}),
        ("!pip install x\ny = 2", [("shell", "pip")], {"y"}),
        ("files = !ls -la\nout = %time f()", [("shell", "ls"), ("line", "time")],
         {"files", "out"}),
        ("pip install pandas\nz = 3", [("automagic", "pip")], {"z"}),
        ("df?\nw = 1", [("help", "df")], {"w"}),
        ("%%time\nq = 1", [("cell", "time")], {"q"}),
        ("if True:\n    %cd ..\n    v = 1", [("line", "cd")], {"v"}),
    ],
)
def test_ipython_syntax_is_understood(source, kinds, defines):
    result = analyze_source(source)
    assert [(m.kind, m.name) for m in result.magics] == kinds
    assert set(result.defines) == defines
    assert result.syntax_error is None


def test_opaque_cell_magic_tells_nothing():
    result = analyze_source("%%bash\nx = 1\necho $x")
    assert result.opaque and result.tree is None
    assert result.defines == {} and result.uses == {}


def test_masking_keeps_line_numbers():
    source = "a = 1\n!ls\n%time b = 2\nc = a"
    masked, magics, opaque = mask_ipython(source)
    assert masked.count("\n") == source.count("\n")
    assert [m.line for m in magics] == [2, 3]
    assert analyze_source(source).uses == {}


def test_syntax_errors_are_reported_not_raised():
    assert analyze_source("def f(:\n    pass").syntax_error[0] == 1
    assert analyze_source("x = " + "(" * 500 + ")" * 500).syntax_error is not None


def test_parse_warnings_are_silenced(recwarn):
    analyze_source('pattern = "\\d+"')
    assert not [w for w in recwarn if issubclass(w.category, (SyntaxWarning, DeprecationWarning))]


def _notebook(*cells):
    return loads(nbformat.writes(make_notebook(*cells)))


def test_used_before_defined_in_top_to_bottom_order():
    analysis = analyze_notebook(_notebook("print(rate)", "def f():\n    return later", "rate = 1"))
    assert analysis.used_before_defined() == [(1, "rate", 1, 3)]  # function reads run later


def test_used_before_defined_within_one_cell():
    analysis = analyze_notebook(_notebook("x = 1", "print(y)\ny = 2", "del x\nx"))
    assert analysis.used_before_defined() == [(2, "y", 1, 2)]


def test_undefined_names_and_star_imports():
    analysis = analyze_notebook(_notebook("import os", "clean.head()", "len(os.sep)"))
    assert analysis.undefined() == [(2, "clean", 1)]
    starred = analyze_notebook(_notebook("from pandas import *", "DataFrame()"))
    assert starred.undefined() == []


def test_definers_and_lookup_by_cell():
    analysis = analyze_notebook(_notebook({"cell_type": "markdown", "source": "# T"}, "a = 1",
                                          "a = 2\nb = a"))
    assert analysis.definers == {"a": [2, 3], "b": [3]}
    assert set(analysis.of(3).defines) == {"a", "b"}
