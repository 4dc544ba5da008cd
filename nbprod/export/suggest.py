"""Proposing tags for an untagged notebook (``nbprod tag --suggest``).

The rules are simple and explainable, one reason per cell: cells that only define functions,
classes or imports -> ``export``; the first cell of literal assignments -> ``parameters``;
cells of asserts -> ``test``; the rest of the code, grouped by the markdown heading above it ->
``step:<slug>``. Cells made only of IPython lines, or that do not parse, -> ``skip``. A
proposal is kept only if the export it leads to can succeed: an export cell whose functions
read a name no other export cell provides is demoted to a step, and so is a test that would
need such a name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..analysis import ALWAYS_DEFINED
from ..markers import cell_marks
from ..notebook import Notebook
from .cells import SourceCell, classify, first_line, top_level_await
from .display import displays_only, is_display
from .module import IPYTHON_NAMES

__all__ = ["Suggestion", "suggest_tags", "apply_suggestions", "NBPROD_TAGS"]

#: Tags that already give a cell its export role; cells carrying one are left alone.
NBPROD_TAGS = ("export", "test", "parameters", "skip", "serve")

_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Suggestion:
    """A proposed tag for one cell, with the reason shown to the user."""

    cell: int  # 1-based over all cells
    cell_id: str | None
    first_line: str
    tag: str
    reason: str

    def to_dict(self) -> dict:
        return {"cell": self.cell, "cell_id": self.cell_id, "first_line": self.first_line,
                "tag": self.tag, "reason": self.reason}


def suggest_tags(nb: Notebook) -> list[Suggestion]:
    """Propose a tag for every untagged code cell of ``nb`` (the notebook is not changed).

    Returns
    -------
    list[Suggestion]
        In cell order; cells that already carry an nbprod tag, a ``step:`` tag or an nbdev
        directive are left out.
    """
    cells = classify(nb)
    free = [c for c in cells if not _already_marked(c)]
    tags: dict[int, tuple[str, str]] = {}
    for position, sc in enumerate(free):
        if sc.analysis.opaque or (sc.analysis.tree is not None and not sc.analysis.tree.body
                                  and (sc.refused or sc.dropped)):
            tags[sc.index] = ("skip", "IPython-only cell: nothing to export")
        elif sc.analysis.syntax_error is not None:
            tags[sc.index] = ("skip", f"does not parse (line {sc.analysis.syntax_error[0]})")
        elif sc.refused and _only_magics(sc):
            tags[sc.index] = ("skip", "IPython-only cell: nothing to export")
        elif (reason := _kernel_only(sc)) and not _read_later(sc, free[position + 1:]):
            tags[sc.index] = ("skip", reason)
    has_params = any(c.role == "parameters" for c in cells)
    if not has_params:
        for position, sc in enumerate(free):
            if sc.index not in tags and _configuration_cell(sc, free[position + 1:]):
                tags[sc.index] = ("parameters", "first cell of scalar settings used later")
                break
    for sc in free:
        if sc.index in tags or sc.refused:
            continue
        kinds = _definition_kinds(sc)
        if kinds:
            tags[sc.index] = ("export", f"only defines {kinds}")
        elif _asserts_only(sc):
            marks = cell_marks(sc.cell)
            tags[sc.index] = (("skip", f"only asserts, but {marks.reason} says not to run it")
                              if marks.skip else ("test", "only asserts"))
    _demote_unexportable(cells, tags)
    _assign_steps(nb, cells, free, tags)
    return [
        Suggestion(sc.index, sc.cell.id, first_line(sc.cell.source), *tags[sc.index])
        for sc in free if sc.index in tags
    ]


def apply_suggestions(nb: Notebook, suggestions: list[Suggestion]) -> int:
    """Add the suggested tags to the notebook in memory; returns the number of cells changed.

    Only ``metadata.tags`` changes: sources and outputs are untouched.
    """
    cells = nb.cells
    changed = 0
    for suggestion in suggestions:
        cell = cells[suggestion.cell - 1]
        if suggestion.tag not in cell.tags:
            cell.set_tags([*cell.tags, suggestion.tag])
            changed += 1
    return changed


def _already_marked(sc: SourceCell) -> bool:
    return bool(sc.cell.marks & set(NBPROD_TAGS)) or sc.cell.step is not None \
        or "injected-parameters" in sc.cell.tags


def _kernel_only(sc: SourceCell) -> str | None:
    """Why code that also holds Python cannot go into a step (an IPython line, a top-level
    await), or None when it can."""
    if sc.refused:
        line = _cut(sc.refused[0].text.strip(), 30)
        return f"IPython line {line!r} cannot be exported; move it to a cell of its own"
    awaited = top_level_await(sc.analysis)
    if awaited is not None:
        return f"top-level await (line {awaited}) runs only in a kernel"
    return None


def _read_later(sc: SourceCell, later: list[SourceCell]) -> bool:
    """Whether a later cell reads a name ``sc`` defines. Tagging ``sc`` skip would leave that
    cell's step without the value, so it stays a step candidate, and the strict export names
    the line to move out of it."""
    made = sc.analysis.defines.keys() | sc.analysis.imports.keys()
    return any(name in made for cell in later for name in cell.analysis.uses)


def _only_magics(sc: SourceCell) -> bool:
    tree = sc.analysis.tree
    return tree is not None and all(isinstance(s, ast.Pass) for s in tree.body)


def _configuration_cell(sc: SourceCell, later: list[SourceCell]) -> bool:
    """A cell of scalar literals (numbers, booleans, short one-word strings such as paths or
    options) whose names later cells all read, some as settings (passed to a call, compared,
    used as an index), none set again, indexed or used through a method (that is data, not
    configuration)."""
    tree = sc.analysis.tree
    if tree is None or not tree.body:
        return False
    names = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                and stmt.value is not None:
            target, value = stmt.target.id, stmt.value
        else:
            return False
        if not _scalar_setting(value):
            return False
        names.append(target)
    kinds: set[str] = set()
    for name in names:
        if any(name in c.analysis.defines for c in later):
            return False  # set again later: a variable, not a setting
        uses = {kind for c in later if c.analysis.tree is not None
                for kind in _uses_of(c.analysis.tree, name)}
        if not uses or "data" in uses:
            return False
        kinds |= uses
    return "setting" in kinds


def _scalar_setting(value: ast.expr) -> bool:
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        value = value.operand
    if not isinstance(value, ast.Constant):
        return False
    if isinstance(value.value, str):
        text = value.value
        return 0 < len(text) <= 200 and not any(ch.isspace() for ch in text)
    return isinstance(value.value, (bool, int, float)) or value.value is None


def _uses_of(tree: ast.Module, name: str) -> list[str]:
    """How ``tree`` reads ``name``: "setting" (a call argument, a comparison, a condition, a
    slice bound, a value in a dict of settings),
    "data" (indexed, or a method or attribute of it) or "other" (arithmetic, a plain copy)."""
    kinds = []
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            if not (isinstance(child, ast.Name) and child.id == name
                    and isinstance(child.ctx, ast.Load)):
                continue
            if isinstance(node, (ast.Attribute, ast.Subscript)) and node.value is child:
                kinds.append("data")
            elif isinstance(node, (ast.Call, ast.keyword, ast.Compare, ast.Slice, ast.If,
                                   ast.IfExp, ast.While, ast.BoolOp, ast.Dict, ast.Subscript)):
                kinds.append("setting")
            else:
                kinds.append("other")
    return kinds


def _definition_kinds(sc: SourceCell) -> str | None:
    tree = sc.analysis.tree
    if tree is None or not tree.body:
        return None
    kinds = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kind = "functions"
        elif isinstance(stmt, ast.ClassDef):
            kind = "classes"
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            if any(a.name == "*" for a in stmt.names):
                return None
            kind = "imports"
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring-like string
        else:
            return None
        if kind not in kinds:
            kinds.append(kind)
    return " and ".join(kinds) if kinds else None


def _asserts_only(sc: SourceCell) -> bool:
    tree = sc.analysis.tree
    return tree is not None and bool(tree.body) and all(
        isinstance(s, ast.Assert) for s in tree.body)


def _demote_unexportable(cells: list[SourceCell], tags: dict[int, tuple[str, str]]) -> None:
    """Drop export and test proposals that the export would refuse (until nothing changes)."""
    def role(sc: SourceCell) -> str:
        return tags[sc.index][0] if sc.index in tags else sc.role

    changed = True
    while changed:
        changed = False
        exported = [c for c in cells if role(c) == "export"]
        provided: set[str] = set()
        for c in exported:
            provided |= set(c.analysis.defines)
        params = {n for c in cells if role(c) == "parameters" for n in c.analysis.defines}
        seen: set[str] = set()
        for sc in exported:
            if sc.index in tags:
                needs = [n for n in sc.analysis.uses if n not in seen] + \
                        [n for n in sc.analysis.function_reads if n not in provided]
                if any(_missing(n) for n in needs):
                    del tags[sc.index]
                    changed = True
                    break
            seen |= set(sc.analysis.defines)
        if changed:
            continue
        for sc in cells:
            if sc.index in tags and tags[sc.index][0] == "test":
                reads = {**sc.analysis.function_reads, **sc.analysis.uses}
                if any(_missing(n) and n not in provided and n not in params for n in reads):
                    del tags[sc.index]
                    changed = True


def _missing(name: str) -> bool:
    return name in IPYTHON_NAMES or name not in ALWAYS_DEFINED


def _assign_steps(nb: Notebook, cells: list[SourceCell], free: list[SourceCell],
                  tags: dict[int, tuple[str, str]]) -> None:
    """Group the remaining code cells into few steps by data flow.

    Cells that only show or plot become ``skip``. The rest is cut into sections at markdown
    headings; consecutive sections are merged into one step until the values it hands on to
    later sections are complete (no later cell changes them), so a step ends where a value
    the rest of the notebook needs is ready, and a cell never reads a value between two
    cells of another step that set it.
    """
    heading_of = _headings(nb)
    candidates = []
    for sc in free:
        if sc.index in tags or _empty(sc):
            continue
        if displays_only(sc.analysis.tree):
            tags[sc.index] = ("skip", "only shows or plots: nothing for a step to compute")
        else:
            candidates.append(sc)
    sections: list[list[SourceCell]] = []
    for sc in candidates:
        if sections and heading_of.get(sections[-1][-1].index) == heading_of.get(sc.index):
            sections[-1].append(sc)
        else:
            sections.append([sc])
    groups: list[list[list[SourceCell]]] = []
    current: list[list[SourceCell]] = []
    for position, section in enumerate(sections):
        current.append(section)
        later = [c for s in sections[position + 1:] for c in s]
        if _hands_on_complete_values([c for s in current for c in s], later):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    taken: set[str] = set()
    for group in groups:
        first_heading = heading_of.get(group[0][0].index, (0, ""))[1]
        base = _slug(first_heading) if first_heading else "main"
        slug, suffix = base, 2
        while slug in taken:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(slug)
        for number, section in enumerate(group):
            heading = heading_of.get(section[0].index, (0, ""))[1]
            place = f"under heading {_cut(heading, 40)!r}" if heading else "no heading above"
            reason = place if number == 0 else f"{place}; its data flows on from the section above"
            for sc in section:
                tags[sc.index] = (f"step:{slug}", reason)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters between words, with "…" where it was cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip(" ,.;:") + "…"


def _hands_on_complete_values(cells: list[SourceCell], later: list[SourceCell]) -> bool:
    """Whether a later cell reads a value ``cells`` set, and no later cell changes such a
    value (sets it again from itself, assigns into it, calls a method on it that is not a
    display). A later cell that sets a name afresh starts a new value: the old one is done.
    Modules are imported again by each step, never handed on: they end no step."""
    handed = False
    for name in {n for c in cells for n in c.analysis.defines if n not in _imported_names(c)}:
        for sc in later:
            if name in sc.analysis.uses or name in sc.analysis.function_reads:
                if name in sc.analysis.defines or _changes(sc, name):
                    return False
                handed = True
            elif name in sc.analysis.defines:
                break
    return handed


def _changes(sc: SourceCell, name: str) -> bool:
    """Whether ``sc`` changes the object ``name`` holds: ``name[...] = ``, ``name.x = ``,
    ``del name[...]``, or a bare method call on it (``name.append(1)``)."""
    tree = sc.analysis.tree
    for node in ast.walk(tree) if tree is not None else ():
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) and not is_display(node):
            targets = [node.value.func]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, (ast.Subscript, ast.Attribute)) and _root(part) == name:
                    return True
    return False


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _imported_names(sc: SourceCell) -> set[str]:
    """Names the top level of a cell binds by ``import``."""
    tree = sc.analysis.tree
    names = set()
    for stmt in tree.body if tree is not None else []:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name.split(".")[0] for a in stmt.names}
    return names


def _headings(nb: Notebook) -> dict[int, tuple[int, str]]:
    """Cell index -> (index of the markdown heading cell above it, the heading text)."""
    section: dict[int, tuple[int, str]] = {}
    current = (0, "")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = _HEADING_RE.match(line)
                if match:
                    current = (cell.index, match.group(2))
                    break
        section[cell.index] = current
    return section


def _empty(sc: SourceCell) -> bool:
    tree = sc.analysis.tree
    return tree is not None and not tree.body and not sc.refused and not sc.dropped


#: The numbering in front of a heading ("Step 2.", "3.1", "4)", "Part II:"): the step's
#: place, which the pipeline already knows, not its name. A bare number is a name ("2021
#: sales"), unless punctuation follows it.
_NUMBERING = re.compile(
    r"^\s*(?:(?i:step|part|section|chapter|exercise|task|stage)\s+(?:\d+(?:\.\d+)*|[IVXLC]+)"
    r"\s*[.:)\-]*|\d+(?:\.\d+)+[.:)\-]*|(?:\d+|[IVXLC]+)\s*[.:)\-]+)\s+(?=\w)")


def _slug(text: str) -> str:
    """A step name from a heading: its words, lower case, joined by ``-``, without the
    numbering in front (``Step 2. Load the data`` -> ``load-the-data``); at most 40
    characters, cut between words (``a-list-array-series-or-index-providing``, not ``...-t``)."""
    text = _NUMBERING.sub("", text)
    text = re.sub(r"[`*_\[\]()]", "", text)
    slug = re.sub(r"[^0-9a-zA-Z]+", "-", text).strip("-").lower()
    if len(slug) > 40:
        cut = slug[:41]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:40]
    return slug or "main"
