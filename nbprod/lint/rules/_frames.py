"""What a notebook's own literals say about the columns of its data frames.

Teaching notebooks and exercises build small frames from a dict of lists
(``pd.DataFrame({'name': ['Ann', 'Bo'], 'score': [4, 2]})``): there the columns, and which
of them hold text, are known without running anything. Rules that depend on column types
(a reduction over text columns) use this and nothing else, so they never guess: a frame
assigned twice, or changed in place where a column could change type, is not described.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

from ..rule import LintContext
from ._helpers import call_name, nodes_of, tree_nodes

__all__ = ["LiteralFrame", "literal_frames"]


@dataclass(frozen=True)
class LiteralFrame:
    """A frame built from literals: its columns in order, and those that hold only text."""

    columns: tuple[str, ...]
    text: frozenset[str]


def _literal_table(node: ast.AST) -> dict[str, bool] | None:
    """column -> whether it holds only text, for ``{'col': [..], ...}`` with string keys
    and list or tuple literals as values (None for anything else)."""
    if not isinstance(node, ast.Dict) or not node.keys:
        return None
    table: dict[str, bool] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        if not isinstance(value, ast.List | ast.Tuple) or not value.elts:
            return None
        table[key.value] = all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        )
    return table


def _chosen_columns(call: ast.Call, table: dict[str, bool]) -> tuple[str, ...] | None:
    """The columns ``pd.DataFrame(data, columns=...)`` keeps: all of them without
    ``columns=`` or with ``data.keys()``, the listed ones for a list of strings, None when
    the expression is anything else."""
    chosen = next((k.value for k in call.keywords if k.arg == "columns"), None)
    if chosen is None or (
        isinstance(chosen, ast.Call) and isinstance(chosen.func, ast.Attribute)
        and chosen.func.attr == "keys" and not chosen.args
    ):
        return tuple(table)
    if isinstance(chosen, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and e.value in table for e in chosen.elts
    ):
        return tuple(e.value for e in chosen.elts)
    return None


def _changed_in_place(nodes: list[ast.AST], name: str, text: frozenset[str]) -> bool:
    """Whether the notebook could change a text column of ``name`` without reassigning it:
    ``name['col'] = ...`` for a text column or a computed key, ``del name[...]``,
    ``name.columns = ...``, ``name.pop(...)`` or any ``inplace=True`` call on it."""
    for node in nodes:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript | ast.Attribute) and (
                    isinstance(target.value, ast.Name) and target.value.id == name
                ):
                    if isinstance(node, ast.Delete) or isinstance(target, ast.Attribute):
                        return True
                    key = target.slice
                    if not (isinstance(key, ast.Constant) and key.value not in text):
                        return True
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == name):
            if node.func.attr == "pop" or any(
                k.arg == "inplace" and not (isinstance(k.value, ast.Constant)
                                            and k.value.value is False)
                for k in node.keywords
            ):
                return True
    return False


def literal_frames(ctx: LintContext) -> dict[str, LiteralFrame]:
    """Name -> frame, for each name bound exactly once in the notebook to
    ``pd.DataFrame(<dict of lists>)`` (the dict written in the call or bound once to a name)
    and never changed in place in a way that could change a text column."""

    def build() -> dict[str, LiteralFrame]:
        cells = [result for _cell, result in ctx.python_cells]
        bound = Counter(
            n.id for result in cells for n in nodes_of(ctx, result, ast.Name)
            if isinstance(n.ctx, ast.Store)
        )
        tables: dict[str, dict[str, bool]] = {}
        made: dict[str, tuple[ast.Call, ast.AST]] = {}
        for node in (n for result in cells for n in nodes_of(ctx, result, ast.Assign)):
            if not (len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            target = node.targets[0].id
            if bound[target] != 1:
                continue
            table = _literal_table(node.value)
            if table is not None:
                tables[target] = table
            elif (isinstance(node.value, ast.Call) and node.value.args
                  and call_name(ctx, node.value) == "pandas.DataFrame"):
                made[target] = (node.value, node.value.args[0])
        frames: dict[str, LiteralFrame] = {}
        nodes = [n for result in cells for n in tree_nodes(ctx, result)] if made else []
        for target, (call, data) in made.items():
            table = _literal_table(data)
            if table is None and isinstance(data, ast.Name) and bound[data.id] == 1:
                table = tables.get(data.id)
            columns = _chosen_columns(call, table) if table is not None else None
            if columns is None:
                continue
            text = frozenset(c for c in columns if table[c])
            if not _changed_in_place(nodes, target, text):
                frames[target] = LiteralFrame(columns, text)
        return frames

    return ctx.memo("literal_frames", build)
