"""The ``step:<name>`` cells of a notebook -> a pipeline module (one function per step) and
its ``Pipeline`` description.

Inputs and outputs come from def-use analysis in notebook order: for every name a step cell
reads, the cell that last defined it above decides where the value comes from: the same step
(a local), another step (an argument, and a return value of that step), an ``export`` cell (an
import from the exported module), the ``parameters`` cell (a keyword argument with its type and
default) or an untagged cell made only of imports (copied to the module's top). Anything else
is an error naming both cells.

Step functions follow the runner's calling convention: upstream values and parameters are
passed by keyword; one return value is returned as is, several as a dict by name.
"""

from __future__ import annotations

import ast
import builtins
import json
import keyword
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import ClassVar

from ..analysis import ALWAYS_DEFINED, analyze_source
from ..errors import CellExportError, ExportError, NbprodWarning
from ..notebook import Notebook
from ..params.cell import ParameterSpec, parameter_specs
from ..params.model import Parameter
from ..pipeline_ir import Pipeline, Step
from .base import Artifact
from .boundary import generator_functions, import_aliases, unserialisable_bindings
from .cells import SourceCell, note_dropped, python_problem, require_python
from .config import Layout
from .module import IPYTHON_NAMES, import_lines, split_future_imports
from .provenance import cell_marker, stamp_json, stamp_python
from .render import import_block, indent, noqa_codes, python_list, render, sorted_names

__all__ = ["StepsExporter", "StepPlan", "plan_steps"]

_RESERVED = {"run"}


@dataclass
class StepPlan:
    """One step as the generator sees it."""

    name: str
    function: str
    cells: list[SourceCell]
    args: list[str] = field(default_factory=list)
    arg_sources: dict[str, str] = field(default_factory=dict)  # arg -> providing step
    returns: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    module_names: list[str] = field(default_factory=list)  # taken from the exported module
    hoisted: dict[str, str] = field(default_factory=dict)  # name -> import made in another step
    needs: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    steps: list[StepPlan]  # in run order
    specs: dict[str, ParameterSpec]
    params_cell: SourceCell | None
    preludes: list[SourceCell]
    needs_display: bool
    cells: list[SourceCell]
    reimports: list[str] = field(default_factory=list)  # cells whose repeated imports went


class StepsExporter:
    """Writes ``<package>/<module>_pipeline.py`` and ``<module>_pipeline.json``."""

    name: ClassVar[str] = "steps"

    def export(self, nb: Notebook, layout: Layout) -> list[Artifact]:
        """Return the step module and pipeline artifacts, or nothing without ``step:`` cells.

        Raises
        ------
        ExportError
            When a step reads a name no allowed cell provides, steps depend on each other in a
            cycle, or an unserialisable value would cross a step boundary (all such values are
            listed in one message).
        """
        plan = plan_steps(nb, layout)
        if plan is None:
            return []
        module_text = _render_module(plan, layout)
        pipeline = _pipeline(plan, layout)
        return [
            Artifact(layout.pipeline_path,
                     stamp_python(module_text, layout.notebook, layout.inputs), self.name,
                     layout.notebook),
            Artifact(layout.pipeline_json_path, stamp_json(pipeline.to_dict(), layout.notebook,
                                             layout.inputs),
                     self.name, layout.notebook),
        ]


def plan_steps(nb: Notebook, layout: Layout) -> _Plan | None:
    """Work out every step's arguments, returns, parameters and upstream steps.

    A step cell that cannot be part of the pipeline (IPython syntax, a name no usable cell
    above defines, a value read from a cell that is left out) is left out, with a warning
    naming the cell, the name and the fix, and the plan is made again without it; with
    ``strict`` it refuses the export instead. Returns None when no ``step:<name>`` cell is
    left.

    Raises
    ------
    ExportError
        As ``StepsExporter.export``; ``CellExportError`` for a step cell with ``strict``.
    """
    from .selection import leave_out, select_cells, warn_left_out

    selected = select_cells(nb, layout)
    where = layout.notebook
    strict = layout.config.strict
    left: dict[int, str] = {}
    for sc in selected:
        if sc.role == "step":
            problem = python_problem(sc, where, f"step {sc.step!r}")
            if problem is not None:
                if strict:
                    raise CellExportError(problem, sc.index)
                left[sc.index] = problem
    while True:
        try:
            plan = _plan(leave_out(selected, left), set(left), where, layout, strict)
            break
        except CellExportError as exc:
            if strict or exc.cell in left:
                raise
            left[exc.cell] = str(exc)
    warn_left_out(left)
    if plan is not None:
        for sc in plan.cells:
            if sc.role == "step":
                note_dropped(sc, where, f"step {sc.step!r}")
        shown = [f"{sc.cell.label} {', '.join(repr(d[:40]) for d in sc.displays[:3])}"
                 for sc in plan.cells if sc.role == "step" and sc.displays]
        if shown:
            warnings.warn(
                f"{where}: display expressions are left out of the step functions (they only"
                f" show a value): {'; '.join(shown[:6])}"
                + (f" and {len(shown) - 6} more cells" if len(shown) > 6 else ""),
                NbprodWarning, stacklevel=2)
        if plan.reimports:
            warnings.warn(
                f"{where}: {', '.join(plan.reimports)}: the same import again in a step is"
                " made once at the top of the step module",
                NbprodWarning, stacklevel=2)
    return plan


def _plan(cells: list[SourceCell], left: set[int], where: str, layout: Layout,
          strict: bool) -> _Plan | None:
    step_cells = [c for c in cells if c.role == "step"]
    if not step_cells:
        return None
    for sc in step_cells:
        top_level = {line for _module, line in _star_imports(sc)}
        nested = [line for _module, line in sc.analysis.star_imports if line not in top_level]
        if nested:
            raise CellExportError(
                f"{where} {sc.cell.label}, line {nested[0]}: a star import inside a block cannot"
                " go into a step function; move it to the top level of the cell", sc.index
            )
    params_cells = [c for c in cells if c.role == "parameters"]
    if len(params_cells) > 1:
        labels = ", ".join(c.cell.label for c in params_cells)
        raise ExportError(f"{where}: more than one parameters cell ({labels}); keep one")
    params_cell = params_cells[0] if params_cells else None
    specs: dict[str, ParameterSpec] = {}
    if params_cell is not None:
        require_python(params_cell, where, "the pipeline")
        for spec in parameter_specs(params_cell.code, where=f"{where} {params_cell.cell.label}"):
            specs[spec.parameter.name] = spec
    steps = _group(step_cells, where)
    by_name = {s.name: s for s in steps}
    preludes = [c for c in cells if c.role == "plain" and _imports_only(c)]
    star_available = any(c.analysis.star_imports for c in cells
                         if c.role in ("export", "step") or c in preludes)
    used_preludes: set[int] = set()
    needs_display = False
    definers: dict[str, list[SourceCell]] = {}  # name -> defining cells, notebook order
    for c in cells:
        if c.role != "skip" or c.index in left:  # a left-out cell still sets what it sets
            for defined in c.analysis.defines:
                definers.setdefault(defined, []).append(c)
    for step in steps:
        for sc in step.cells:
            reads = {**sc.analysis.function_reads, **sc.analysis.uses}
            for name, line in reads.items():
                in_function = name not in sc.analysis.uses
                if name in ALWAYS_DEFINED and name not in IPYTHON_NAMES:
                    continue
                if in_function and _defined_in_step(step, name):
                    continue  # a function body reads it when called: any cell of the step
                provider = _provider(definers, name, sc.index)
                if provider is None and in_function:
                    provider = _provider(definers, name, 10**9)
                if provider is None:
                    if name == "display":
                        needs_display = True
                        continue
                    if star_available:
                        continue
                    raise CellExportError(_message(sc, name, line, None, where), sc.index)
                if provider.index in left:
                    raise CellExportError(
                        f"{where} {sc.cell.label}, line {line}: step {sc.step!r} uses {name!r},"
                        f" which {provider.cell.label} sets, and {provider.cell.label} is left"
                        " out of the export", sc.index)
                _take(step, by_name, provider, sc, name, line, where, specs, used_preludes)
    exported = [c for c in cells if c.role == "export"]
    reimports = _drop_reimports(steps, exported, layout.module_import)
    _check_rebinding(steps, where)
    _avoid_clashes(steps, cells, used_preludes, params_cell, needs_display)
    ordered = _run_order(steps, where)
    _check_providers(ordered, where)
    _check_serialisable(ordered, cells, where, strict)
    return _Plan(
        steps=ordered,
        specs=specs,
        params_cell=params_cell,
        preludes=[c for c in preludes if c.index in used_preludes],
        needs_display=needs_display,
        cells=cells,
        reimports=reimports,
    )


def _drop_reimports(steps: list[StepPlan], exported: list[SourceCell],
                    module_import: str) -> list[str]:
    """Remove from step cells the imports that repeat, under the same name, an import the
    step module makes at its top anyway (``import numpy as np`` in two cells). Returns the
    cells changed, for the report."""
    changed = []
    for step in steps:
        at_top = dict(step.hoisted)
        for name in step.module_names:
            line = import_lines([name], exported, module_import)[0]
            if not line.startswith(f"from {module_import} import"):
                at_top[name] = line
        if not at_top:
            continue
        for position, sc in enumerate(step.cells):
            code = _without_imports(sc, at_top)
            if code is not None:
                step.cells[position] = replace(sc, code=code, analysis=analyze_source(code))
                changed.append(sc.cell.label)
    return changed


def _without_imports(sc: SourceCell, at_top: dict[str, str]) -> str | None:
    """``sc``'s code without the top-level imports that ``at_top`` already makes (the same
    statement binding the same name), or None when it has none."""
    tree = sc.analysis.tree
    lines = sc.code.split("\n")
    touched = False
    shared = _shared_lines(tree)
    for stmt in tree.body if tree is not None else []:
        if stmt.lineno in shared or stmt.end_lineno in shared:
            continue  # ``import x; y = 1``: leave the line as written
        if isinstance(stmt, ast.Import):
            single = [(a, ast.unparse(ast.Import([a])), a.asname or a.name.split(".")[0])
                      for a in stmt.names]
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0 \
                and stmt.module != "__future__":
            single = [(a, ast.unparse(ast.ImportFrom(stmt.module, [a], 0)), a.asname or a.name)
                      for a in stmt.names]
        else:
            continue
        kept = [a for a, text, bound in single if at_top.get(bound) != text]
        if len(kept) == len(single) or stmt.end_lineno is None:
            continue
        touched = True
        first, last = stmt.lineno, stmt.end_lineno
        if kept:
            new = ast.Import(kept) if isinstance(stmt, ast.Import) else ast.ImportFrom(
                stmt.module, kept, 0)
            lines[first - 1] = ast.unparse(new)  # a top-level statement: no indentation
        else:
            lines[first - 1] = ""
        for number in range(first + 1, last + 1):
            lines[number - 1] = ""
    return "\n".join(lines) if touched else None


def _group(step_cells: list[SourceCell], where: str) -> list[StepPlan]:
    steps: dict[str, StepPlan] = {}
    functions: dict[str, str] = {}
    for sc in step_cells:
        name = sc.step or ""
        if name not in steps:
            function = _function_name(name)
            if function in functions:
                raise ExportError(
                    f"{where} {sc.cell.label}: steps {functions[function]!r} and {name!r} give the"
                    f" same function name {function!r}; rename one of them"
                )
            functions[function] = name
            steps[name] = StepPlan(name=name, function=function, cells=[])
        steps[name].cells.append(sc)
    return list(steps.values())


def _function_name(step: str) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", step).strip("_").lower() or "step"
    if slug[0].isdigit():
        slug = f"step_{slug}"
    if keyword.iskeyword(slug) or slug in _RESERVED:
        slug = f"{slug}_step"
    return slug


def _imports_only(sc: SourceCell) -> bool:
    tree = sc.analysis.tree
    return (
        tree is not None and bool(tree.body) and not sc.refused
        and all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in tree.body)
        and not any(isinstance(s, ast.ImportFrom) and s.module == "__future__" for s in tree.body)
    )


def _defined_in_step(step: StepPlan, name: str) -> bool:
    return any(name in sc.analysis.defines for sc in step.cells)


def _provider(definers: dict[str, list[SourceCell]], name: str,
              before: int) -> SourceCell | None:
    """The last cell above ``before`` that defines ``name``."""
    for sc in reversed(definers.get(name, ())):
        if sc.index < before:
            return sc
    return None


def _take(step, by_name, provider, sc, name, line, where, specs, used_preludes) -> None:
    """Record where ``step`` gets ``name`` from, or refuse it."""
    if provider.role == "step":
        source = by_name[provider.step]
        if source is step:
            return  # a local of the step function
        earlier = [c for c in step.cells if c.index < sc.index and name in c.analysis.defines]
        if earlier:
            raise CellExportError(
                f"{where} {sc.cell.label}, line {line}: step {step.name!r} sets {name!r} in"
                f" {earlier[0].cell.label}, then reads the value step {source.name!r} set in"
                f" {provider.cell.label}; keep each step's cells together", sc.index
            )
        later = [c for c in source.cells if c.index > sc.index and name in c.analysis.defines]
        if later:
            raise CellExportError(
                f"{where} {sc.cell.label}, line {line}: step {step.name!r} reads {name!r} between"
                f" two cells of step {source.name!r} that set it ({provider.cell.label} and"
                f" {later[0].cell.label}); keep each step's cells together", sc.index
            )
        statement = _import_binding(provider, name)
        if statement is not None:
            # A module cannot be pickled to another step; importing it again is equivalent.
            step.hoisted[name] = statement
            return
        if name not in step.args:
            step.args.append(name)
            step.arg_sources[name] = source.name
        if name not in source.returns:
            source.returns.append(name)
        if source.name not in step.needs:
            step.needs.append(source.name)
    elif provider.role == "export":
        if name not in step.module_names:
            step.module_names.append(name)
    elif provider.role == "parameters":
        # The parameters cell's imports (for annotations) are copied to the module's top.
        if name in specs and name not in step.parameters:
            step.parameters.append(name)
    elif provider.role == "plain" and _imports_only(provider):
        used_preludes.add(provider.index)
    else:
        raise CellExportError(_message(sc, name, line, provider, where), sc.index)


def _message(sc: SourceCell, name: str, line: int, provider: SourceCell | None,
             where: str) -> str:
    label = f"{where} {sc.cell.label}, line {line}"
    if provider is None:
        if name in IPYTHON_NAMES:
            return f"{label}: {name!r} exists only in a Jupyter kernel; use plain Python instead"
        return (
            f"{label}: step {sc.step!r} uses {name!r}, which no cell above defines; define it"
            " in a step:<name>, export or parameters cell"
        )
    role = "untagged" if provider.role == "plain" else f"tagged {provider.role}"
    return (
        f"{label}: step {sc.step!r} uses {name!r}, defined in {provider.cell.label} ({role}),"
        f" which is not part of the pipeline; tag {provider.cell.label} step:<name> or export"
    )


def _avoid_clashes(steps: list[StepPlan], cells: list[SourceCell], used_preludes: set[int],
                   params_cell: SourceCell | None, needs_display: bool) -> None:
    """Rename step functions that would clash with a name the generated code uses: a
    module-level import, a builtin, a parameter, or any name the step cells read or set."""
    taken = {n for s in steps for n in [*s.module_names, *s.hoisted]} | {"run"}
    taken |= set(dir(builtins))
    for step in steps:
        for sc in step.cells:
            taken |= set(sc.analysis.defines) | set(sc.analysis.uses)
            taken |= set(sc.analysis.function_reads)
    taken |= {n for c in cells if c.index in used_preludes for n in c.analysis.defines}
    if params_cell is not None:
        taken |= set(params_cell.analysis.defines)
    if needs_display:
        taken.add("display")
    functions = {s.function for s in steps}
    for step in steps:
        if step.function in taken:
            name, suffix = f"{step.function}_step", 2
            while name in taken or name in functions:
                name, suffix = f"{step.function}_step{suffix}", suffix + 1
            functions.add(name)
            step.function = name


def _star_imports(sc: SourceCell) -> list[tuple[str, int]]:
    """(module, line) of the star imports at the top level of a cell."""
    tree = sc.analysis.tree
    return [
        ("." * stmt.level + (stmt.module or ""), stmt.lineno)
        for stmt in (tree.body if tree is not None else [])
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names)
    ]


def _star_import_texts(sc: SourceCell) -> list[tuple[str, int]]:
    return [(f"from {module} import *", line) for module, line in _star_imports(sc)]


def _without_lines(code: str, lines: set[int]) -> str:
    if not lines:
        return code
    return "\n".join(text for number, text in enumerate(code.split("\n"), start=1)
                     if number not in lines)


def _import_binding(sc: SourceCell, name: str) -> str | None:
    """The import statement by which the top level of ``sc`` binds ``name``, if any."""
    tree = sc.analysis.tree
    for stmt in tree.body if tree is not None else []:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    return ast.unparse(ast.Import([alias]))
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
            for alias in stmt.names:
                if (alias.asname or alias.name) == name:
                    return ast.unparse(ast.ImportFrom(stmt.module, [alias], 0))
    return None


def _shared_lines(tree: ast.Module | None) -> set[int]:
    """Lines holding more than one top-level statement."""
    seen: dict[int, int] = {}
    for stmt in tree.body if tree is not None else []:
        for number in {stmt.lineno, stmt.end_lineno or stmt.lineno}:
            seen[number] = seen.get(number, 0) + 1
    return {number for number, count in seen.items() if count > 1}


def _check_rebinding(steps: list[StepPlan], where: str) -> None:
    """A step that rebinds a module-level name it also reads would hit UnboundLocalError."""
    for step in steps:
        for name in [*step.module_names, *step.hoisted]:
            origin = "an export cell" if name in step.module_names else "another step's import"
            for sc in step.cells:
                if name in sc.analysis.defines:
                    raise CellExportError(
                        f"{where} {sc.cell.label}, line {sc.analysis.defines[name]}: step"
                        f" {step.name!r} reassigns {name!r}, which comes from {origin};"
                        " use a new name in the step", sc.index
                    )


def _run_order(steps: list[StepPlan], where: str) -> list[StepPlan]:
    """Upstream steps first; otherwise the order in which steps first appear."""
    done: list[StepPlan] = []
    remaining = list(steps)
    while remaining:
        ready = next((s for s in remaining if all(n in {d.name for d in done} for n in s.needs)),
                     None)
        if ready is None:
            names = " -> ".join(s.name for s in remaining)
            raise ExportError(
                f"{where}: steps depend on each other in a cycle ({names}); each step may only"
                " read values that steps above it define"
            )
        done.append(ready)
        remaining.remove(ready)
    return done


def _check_providers(ordered: list[StepPlan], where: str) -> None:
    """The runner takes each argument from the last earlier step returning that name: make
    sure that is the step the notebook's order says."""
    for position, step in enumerate(ordered):
        for arg, source in step.arg_sources.items():
            last = next((s.name for s in reversed(ordered[:position]) if arg in s.returns), None)
            if last != source:
                raise ExportError(
                    f"{where}: step {step.name!r} reads {arg!r} from step {source!r}, but step"
                    f" {last!r} also hands on {arg!r} and runs in between; rename one of them"
                )


def _check_serialisable(ordered: list[StepPlan], cells: list[SourceCell], where: str,
                        strict: bool) -> None:
    """Refuse values that cannot be pickled crossing a step boundary; unless ``strict``, the
    first cell reading such a value is left out instead (``CellExportError``)."""
    trees = [c.analysis.tree for c in cells if c.analysis.tree is not None and c.role != "skip"]
    aliases = import_aliases(trees)
    generators = generator_functions(trees)
    problems = []
    for step in ordered:
        if not step.returns:
            continue
        step_trees = [c.analysis.tree for c in step.cells if c.analysis.tree is not None]
        bad = unserialisable_bindings(step_trees, aliases, generators)
        consumers = {name: [s.name for s in ordered if s.arg_sources.get(name) == step.name]
                     for name in step.returns}
        for name in step.returns:
            if name in bad:
                position, what, expression, line = bad[name]
                cell = [c for c in step.cells if c.analysis.tree is not None][position]
                to = ", ".join(repr(n) for n in consumers[name])
                problems.append(
                    f"  - {name!r} ({what}, from {expression} at {cell.cell.label}, line {line})"
                    f" goes from step {step.name!r} to step {to}"
                )
                reader = _first_reader(ordered, step.name, name)
                if not strict and reader is not None:
                    raise CellExportError(
                        f"{where} {reader.cell.label}: step {reader.step!r} reads {name!r}"
                        f" ({what}, from {expression} at {cell.cell.label}, line {line}), which"
                        f" cannot be serialised to pass from step {step.name!r}; keep it inside"
                        " one step (pass the data, not the handle), or merge the steps",
                        reader.index)
    if problems:
        raise ExportError(
            f"{where}: values that cannot be serialised would cross step boundaries:\n"
            + "\n".join(problems)
            + "\nkeep each of them inside one step (pass the data, not the handle), or merge"
            " the steps"
        )


def _first_reader(ordered: list[StepPlan], source: str, name: str) -> SourceCell | None:
    for step in ordered:
        if step.arg_sources.get(name) == source:
            for sc in step.cells:
                if name in sc.analysis.uses or name in sc.analysis.function_reads:
                    return sc
    return None


def _signature(step: StepPlan, specs: dict[str, ParameterSpec]) -> list[str]:
    parts = list(step.args)
    keyword_only = [_parameter_text(spec) for name, spec in specs.items()
                    if name in step.parameters]  # in the parameters cell's order
    if keyword_only:
        parts.append("*")
        parts.extend(keyword_only)
    return parts


def _parameter_text(spec: ParameterSpec) -> str:
    text = spec.parameter.name
    default = _default_text(spec.default_source)
    if spec.inferred_type:
        text += f": {spec.inferred_type}"
        return text + (f" = {default}" if default is not None else "")
    return text + (f"={default}" if default is not None else "")


def _default_text(source: str | None) -> str | None:
    """A default as it can stand in a signature: ``res = 640, 480`` needs parentheses."""
    if source is None:
        return None
    try:
        tuple_value = isinstance(ast.parse(source.strip(), mode="eval").body, ast.Tuple)
    except SyntaxError:
        return source
    return f"({source.strip()})" if tuple_value else source


def _render_module(plan: _Plan, layout: Layout) -> str:
    where = layout.notebook
    statements: list[str] = []
    # ``from __future__`` must open the file: taken out of every cell, written first.
    futures: list[str] = []
    if plan.needs_display:
        statements.append("from IPython.display import display")
    if plan.params_cell is not None and plan.params_cell.analysis.tree is not None:
        for stmt in plan.params_cell.analysis.tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                futures.append(ast.unparse(stmt))
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                statements.append(ast.unparse(stmt))
    from_preludes = {n for c in plan.preludes for n in c.analysis.defines}
    for step in plan.steps:
        statements.extend(step.hoisted.values())
        for sc in step.cells:
            # A star import is only legal at module level: it moves to the module's top.
            statements.extend(text for text, _line in _star_import_texts(sc))
    for sc in plan.cells:
        if sc.role == "export":
            # Names an export cell's star import provides are not in the module's __all__.
            statements.extend(text for text, _line in _star_import_texts(sc))
    module_names = sorted({n for s in plan.steps for n in s.module_names} - from_preludes)
    exported = [c for c in plan.cells if c.role == "export"]
    statements.extend(import_lines(module_names, exported, layout.module_import))
    imports = import_block([t for t in statements if not t.startswith("from __future__")],
                           layout.module_import)
    preludes = [
        f"{cell_marker(c.cell.id, c.index, where)}\n{c.code.strip(chr(10)).rstrip()}"
        for c in plan.preludes
    ]
    functions, bodies = [], []
    for step in plan.steps:
        body_parts = [f'"""Step {step.name!r} of {_doc_safe(where)}."""']
        for sc in step.cells:
            code = _without_lines(sc.code, {line for _t, line in _star_import_texts(sc)})
            code, found = split_future_imports(code)
            futures.extend(found)
            code = code.strip("\n").rstrip()
            body_parts.append(cell_marker(sc.cell.id, sc.index, where) + ("\n" + code if code
                                                                          else ""))
        if len(step.returns) == 1:
            body_parts.append(f"return {step.returns[0]}")
        elif step.returns:
            items = ", ".join(f'"{n}": {n}' for n in step.returns)
            body_parts.append(f"return {{{items}}}")
        bodies.append(ast.Module(
            body=[stmt for sc in step.cells if sc.analysis.tree for stmt in sc.analysis.tree.body]
            + [ast.Return(ast.Tuple([ast.Name(n, ast.Load()) for n in step.returns], ast.Load()))],
            type_ignores=[]))
        body = indent("\n".join(body_parts))
        functions.append(f"{_wrap('def ' + step.function, _signature(step, plan.specs))}:\n{body}")
    all_params = list(plan.specs.values())
    run_signature = _wrap("def run", ["*", *[_parameter_text(s) for s in all_params]]
                          if all_params else [])
    calls = []
    for step in plan.steps:
        kwargs = [f'{a}=_values["{a}"]' for a in step.args]
        kwargs += [f"{p}={p}" for p in plan.specs if p in step.parameters]
        call = _wrap(step.function, kwargs, indent_by=4)
        if len(step.returns) == 1:
            calls.append(f'_values["{step.returns[0]}"] = {call}')
        elif step.returns:
            calls.append(f"_values.update({call})")
        else:
            calls.append(call)
    names = sorted_names([s.function for s in plan.steps] + ["run"])
    codes = [c.analysis.tree or c.code for c in plan.preludes] + ["\n".join(statements)]
    context = {
        "imports": imports,
        "preludes": "\n\n\n".join(preludes),
        "dunder_all": python_list(names),
        "functions": "\n\n\n".join(functions),
        "run_signature": run_signature,
        "calls": calls,
        "notebook": _doc_safe(where),
        "futures": list(dict.fromkeys(futures)),
    }
    return render("steps.py.j2", noqa=noqa_codes(codes, names, wrapped=bodies), **context)


def _wrap(head: str, parts: list[str], *, indent_by: int = 0) -> str:
    """``head(parts...)``, one part per line when the line would pass 100 columns."""
    flat = f"{head}({', '.join(parts)})"
    if len(flat) + indent_by + 25 <= 100 or not parts:
        return flat
    pad = " " * (indent_by + 4)
    inner = "".join(f"{pad}{part},\n" for part in parts)
    return f"{head}(\n{inner}{' ' * indent_by})"


def _doc_safe(text: str) -> str:
    return text.replace("\\", "/").replace('"', "'")


def _pipeline(plan: _Plan, layout: Layout) -> Pipeline:
    parameters = tuple(
        Parameter(
            name=spec.parameter.name,
            type=spec.parameter.type or spec.inferred_type,
            default=_json_value(spec.parameter.default),
            help=spec.parameter.help,
            required=spec.parameter.required,
        )
        for spec in plan.specs.values()
    )
    steps = []
    for step in plan.steps:
        step_parameters = {
            name: _json_value(plan.specs[name].parameter.default)
            for name in plan.specs
            if name in step.parameters
            # A non-literal default is evaluated by the function itself; passing None would
            # replace it, so such parameters reach the step only when given explicitly.
            and plan.specs[name].literal
        }
        steps.append(Step(
            name=step.name,
            function=f"{layout.pipeline_import}:{step.function}",
            args=tuple(step.args),
            returns=tuple(step.returns),
            parameters=step_parameters,
            needs=tuple(step.needs),
            cells=tuple(sc.cell.id or str(sc.index) for sc in step.cells),
        ))
    return Pipeline(name=layout.module, steps=tuple(steps), parameters=parameters,
                    source=layout.notebook)


def _json_value(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value
