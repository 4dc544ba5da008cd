"""The notebook model: a defensive loader, cell views with tags and ids, and an atomic save.

nbformat's own reader lets about a third of malformed inputs escape as ``TypeError`` or
``KeyError`` and reads a file without an ``nbformat`` key as version 1. nbprod parses the JSON
itself (with a size cap, an encoding check and a depth guard), checks the structure it relies
on, and only then hands the dict to nbformat for schema validation. Anything wrong becomes a
one-line ``NotebookError`` naming the file and the problem.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NotebookError, NbprodWarning
from .fsutil import atomic_write

__all__ = ["Cell", "Notebook", "DEFAULT_MAX_BYTES", "load", "loads", "save", "dumps"]

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
CELL_TYPES = ("code", "markdown", "raw")

# nbdev comment directives and the nbprod marks they stand for.
_DIRECTIVE_RE = re.compile(r"^\s*#\|\s*([\w-]+)(?::)?\s*(.*?)\s*$")
_DIRECTIVE_MARKS = {"export": "export", "exporti": "export", "exports": "export", "hide": "skip"}


@dataclass
class Cell:
    """A view on one cell of a notebook; edits go to the underlying nbformat node."""

    index: int  # 1-based, over all cells, as ruff reports notebook cells
    node: Any

    @property
    def id(self) -> str | None:
        return self.node.get("id")

    @property
    def cell_type(self) -> str:
        return self.node["cell_type"]

    @property
    def source(self) -> str:
        return self.node.get("source", "")

    @source.setter
    def source(self, text: str) -> None:
        self.node["source"] = text

    @property
    def tags(self) -> list[str]:
        """The cell's ``metadata.tags``, as stored."""
        tags = self.node.get("metadata", {}).get("tags", [])
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    def set_tags(self, tags: list[str]) -> None:
        metadata = self.node.setdefault("metadata", {})
        if tags:
            metadata["tags"] = list(tags)
        else:
            metadata.pop("tags", None)

    @property
    def directives(self) -> dict[str, str]:
        """nbdev ``#| name value`` directives at the top of the cell (name -> value)."""
        found: dict[str, str] = {}
        for line in self.source.splitlines():
            if not line.strip():
                continue
            match = _DIRECTIVE_RE.match(line)
            if not match:
                break
            found[match.group(1)] = match.group(2)
        return found

    @property
    def marks(self) -> set[str]:
        """Effective nbprod marks: the tags plus nbdev directives read as the same marks."""
        marks = set(self.tags)
        if self.cell_type == "code":
            for name in self.directives:
                if name in _DIRECTIVE_MARKS:
                    marks.add(_DIRECTIVE_MARKS[name])
        return marks

    @property
    def step(self) -> str | None:
        """The pipeline step this cell belongs to (``step:<name>`` tag), if any."""
        for tag in self.tags:
            if tag.startswith("step:") and len(tag) > 5:
                return tag[5:]
        return None

    @property
    def outputs(self) -> list:
        return self.node.get("outputs", []) if self.cell_type == "code" else []

    @property
    def execution_count(self) -> int | None:
        return self.node.get("execution_count") if self.cell_type == "code" else None

    @property
    def label(self) -> str:
        """How messages name this cell: ``cell 3 (id 'a1b2')``."""
        return f"cell {self.index}" + (f" (id {self.id!r})" if self.id else "")


@dataclass
class Notebook:
    """A loaded notebook: the nbformat node (the source of truth) plus its path."""

    node: Any
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    # How the file was formatted on disk, so a save changes only what was edited.
    indent: int = 1
    trailing_newline: bool = True

    @property
    def cells(self) -> list[Cell]:
        return [Cell(i, c) for i, c in enumerate(self.node["cells"], start=1)]

    @property
    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.cell_type == "code"]

    def tagged(self, mark: str) -> list[Cell]:
        """Cells carrying ``mark`` as a tag or as an equivalent nbdev directive."""
        return [c for c in self.cells if mark in c.marks]

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "notebook"

    @property
    def display_path(self) -> str:
        return str(self.path) if self.path else "<notebook>"

    @property
    def default_exp(self) -> str | None:
        """The module name from nbdev's ``#| default_exp NAME`` directive, if present."""
        for cell in self.code_cells:
            value = cell.directives.get("default_exp")
            if value:
                return value.split()[0]
        return None

    @property
    def kernel_language(self) -> str:
        meta = self.node.get("metadata", {})
        lang = meta.get("language_info", {}).get("name") or meta.get("kernelspec", {}).get(
            "language"
        )
        return (lang or "python").lower()


def load(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Notebook:
    """Read a notebook file defensively.

    Parameters
    ----------
    path:
        The ``.ipynb`` file.
    max_bytes:
        Files larger than this are refused before being read (``--max-size``).

    Returns
    -------
    Notebook
        With ``warnings`` listing upgrades and repairs (the file itself is never rewritten).

    Raises
    ------
    NotebookError
        When the file is missing, too large, not UTF-8 JSON, or not a valid nbformat 3/4 notebook.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read: {exc.strerror}") from None
    if path.is_dir():
        raise NotebookError(f"{path}: is a folder, not a notebook file")
    if size > max_bytes:
        raise NotebookError(
            f"{path}: file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit;"
            " raise it with --max-size or clear large outputs"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read: {exc.strerror}") from None
    return loads(data, path=path)


def loads(data: bytes | str, *, path: str | Path | None = None) -> Notebook:
    """Parse notebook content (bytes or text) with the same checks as ``load``."""
    where = str(path) if path is not None else "<notebook>"
    text = _decode(data, where) if isinstance(data, bytes) else data
    if not text.strip():
        raise NotebookError(f"{where}: file is empty; a notebook is a JSON object")
    raw = _parse_json(text, where)
    notes: list[str] = []
    raw = _check_version(raw, where, notes)
    _check_structure(raw, where)
    node = _validate(raw, where, notes)
    for note in notes:
        warnings.warn(f"{where}: {note}", NbprodWarning, stacklevel=2)
    indent, trailing = _detect_style(text)
    return Notebook(
        node=node,
        path=Path(path) if path is not None else None,
        warnings=notes,
        indent=indent,
        trailing_newline=trailing,
    )


def dumps(nb: Notebook) -> str:
    """Serialise as Jupyter does (sorted keys, UTF-8), keeping the file's own indentation."""
    import copy

    from nbformat.v4.rwbase import split_lines

    # Jupyter stores multi-line text as lists of lines; split_lines restores that layout.
    node = split_lines(copy.deepcopy(nb.node))
    text = json.dumps(node, indent=nb.indent, sort_keys=True, ensure_ascii=False)
    return text + "\n" if nb.trailing_newline else text


def save(nb: Notebook, path: str | Path | None = None) -> None:
    """Write the notebook atomically to ``path`` (default: where it was loaded from)."""
    target = Path(path) if path is not None else nb.path
    if target is None:
        raise NotebookError("cannot save a notebook that has no path; give one")
    atomic_write(target, dumps(nb))


def _decode(data: bytes, where: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 1 and b"\x00" in data[:4]):
        raise NotebookError(f"{where}: file is UTF-16 encoded; notebooks must be UTF-8, re-save it")
    if data.startswith(b"\xef\xbb\xbf"):
        raise NotebookError(
            f"{where}: file starts with a UTF-8 byte-order mark, which JSON forbids; re-save it"
            " without BOM"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(
            f"{where}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start});"
            " notebooks must be UTF-8, re-save it"
        ) from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise NotebookError(f"{where}: JSON is nested too deeply to be a notebook") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise NotebookError(f"{where}: not valid JSON ({exc})") from None


def _check_version(raw: Any, where: str, notes: list[str]) -> dict:
    if not isinstance(raw, dict):
        raise NotebookError(
            f"{where}: top level is a JSON {_json_type(raw)}, not an object; not a notebook"
        )
    if "nbformat" not in raw:
        raise NotebookError(f"{where}: no 'nbformat' version key; not a Jupyter notebook")
    major = raw["nbformat"]
    if not isinstance(major, int) or isinstance(major, bool):
        raise NotebookError(
            f"{where}: 'nbformat' must be an integer, got {json.dumps(major)[:40]}"
        )
    if major == 4:
        minor = raw.get("nbformat_minor", 0)
        if not isinstance(minor, int) or isinstance(minor, bool) or minor < 0:
            raise NotebookError(
                f"{where}: 'nbformat_minor' must be a non-negative integer, got"
                f" {json.dumps(minor)[:40]}"
            )
        return raw
    if major == 3:
        return _upgrade_v3(raw, where, notes)
    raise NotebookError(
        f"{where}: nbformat {major} is not supported (nbprod reads nbformat 3 and 4)"
    )


def _upgrade_v3(raw: dict, where: str, notes: list[str]) -> dict:
    import nbformat

    worksheets = raw.get("worksheets")
    if not isinstance(worksheets, list) or not all(isinstance(w, dict) for w in worksheets):
        raise NotebookError(f"{where}: nbformat 3 notebook without a valid 'worksheets' list")
    for w_index, sheet in enumerate(worksheets):
        cells = sheet.get("cells", [])
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            raise NotebookError(f"{where}: worksheets[{w_index}].cells must be a list of objects")
    try:
        node = nbformat.from_dict(raw)
        upgraded = nbformat.convert(node, 4)
    except Exception as exc:  # nbformat's converter raises assorted types on bad v3 input
        raise NotebookError(f"{where}: cannot upgrade nbformat 3 notebook: {exc}") from None
    notes.append("nbformat 3 notebook upgraded to 4 in memory; the file is unchanged")
    return json.loads(json.dumps(upgraded))


def _check_structure(raw: dict, where: str) -> None:
    """Check the parts nbprod relies on, with messages that name the cell."""
    cells = raw.get("cells")
    if cells is None and "cells" not in raw:
        raise NotebookError(f"{where}: no 'cells' list; not a notebook")
    if not isinstance(cells, list):
        raise NotebookError(f"{where}: 'cells' must be a list, got {_json_type(cells)}")
    if not isinstance(raw.get("metadata", {}), dict):
        raise NotebookError(f"{where}: 'metadata' must be an object")
    for index, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise NotebookError(f"{where}: cell {index} is a JSON {_json_type(cell)}, not an object")
        kind = cell.get("cell_type")
        if kind not in CELL_TYPES:
            raise NotebookError(
                f"{where}: cell {index} has cell_type {json.dumps(kind)[:40]}; expected one of"
                f" {', '.join(CELL_TYPES)}"
            )
        source = cell.get("source", "")
        if isinstance(source, list):
            if not all(isinstance(part, str) for part in source):
                raise NotebookError(f"{where}: cell {index} source list holds non-text items")
        elif not isinstance(source, str):
            raise NotebookError(
                f"{where}: cell {index} source must be text, got {_json_type(source)}"
            )
        if not isinstance(cell.get("metadata", {}), dict):
            raise NotebookError(f"{where}: cell {index} metadata must be an object")
        if kind == "code":
            outputs = cell.get("outputs", [])
            if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
                raise NotebookError(f"{where}: cell {index} outputs must be a list of objects")


def _validate(raw: dict, where: str, notes: list[str]) -> Any:
    import nbformat
    from nbformat.validator import ValidationError

    for cell in raw["cells"]:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), list) and all(
                isinstance(t, str) for t in output["text"]
            ):
                output["text"] = "".join(output["text"])
    _repair_ids(raw, notes)
    try:
        node = nbformat.from_dict(raw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(node)
    except ValidationError as exc:
        location = "/".join(str(p) for p in getattr(exc, "absolute_path", []) or [])
        message = getattr(exc, "message", str(exc)).splitlines()[0][:200]
        cell_hint = _cell_hint(getattr(exc, "absolute_path", None))
        raise NotebookError(
            f"{where}: invalid notebook{cell_hint} at /{location}: {message}"
        ) from None
    except Exception as exc:  # nbformat may raise other types on odd input; keep one error type
        raise NotebookError(f"{where}: invalid notebook: {type(exc).__name__}: {exc}"[:300]) from None
    minor = raw.get("nbformat_minor", 0)
    if minor > nbformat.current_nbformat_minor:
        notes.append(f"nbformat 4.{minor} is newer than this nbformat knows; read as 4.x")
    return node


def _repair_ids(raw: dict, notes: list[str]) -> None:
    """Give cells of nbformat >= 4.5 missing or duplicate ids a fresh one (in memory only)."""
    if raw.get("nbformat_minor", 0) < 5:
        return
    seen: set[str] = set()
    repaired = 0
    for index, cell in enumerate(raw["cells"], start=1):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not cell_id or cell_id in seen:
            base = f"cell-{index}"
            cell_id = base
            suffix = 1
            while cell_id in seen:
                suffix += 1
                cell_id = f"{base}-{suffix}"
            cell["id"] = cell_id
            repaired += 1
        seen.add(cell_id)
    if repaired:
        notes.append(f"{repaired} cell id(s) missing or duplicated; repaired in memory")


def _cell_hint(path: Any) -> str:
    parts = list(path or [])
    if len(parts) >= 2 and parts[0] == "cells" and isinstance(parts[1], int):
        return f" (cell {parts[1] + 1})"
    return ""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _detect_style(text: str) -> tuple[int, bool]:
    match = re.search(r"\n( +)\"", text[:2000])
    indent = len(match.group(1)) if match else 1
    return indent, text.endswith("\n")
