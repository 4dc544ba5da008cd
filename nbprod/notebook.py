"""The notebook model: a defensive loader, cell views with tags and ids, and an atomic save.

nbformat's own reader lets about a third of malformed inputs escape as ``TypeError`` or
``KeyError`` and reads a file without an ``nbformat`` key as version 1. nbprod parses the JSON
itself (with a size cap, an encoding check and a depth guard), checks the structure it relies
on, and only then validates it against nbformat's own JSON schema. Anything wrong becomes a
one-line ``NotebookError`` naming the file and the problem.

Importing nbformat costs seconds in some environments (its jsonschema import pulls in
format checkers that compile grammars at import time), so the read path never imports it:
the schema files are located with ``importlib.util.find_spec`` and compiled with
fastjsonschema (nbformat's own fast validator), once per process; nbformat 3 files are
upgraded by ``nbprod.nbformat_v3``. nbformat itself is never imported.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NbprodWarning, NotebookError
from .fsutil import atomic_write, default_cache_folder

__all__ = [
    "Cell",
    "Node",
    "Notebook",
    "DEFAULT_MAX_BYTES",
    "check_readable",
    "dumps",
    "load",
    "loads",
    "read_bytes",
    "save",
]

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
CELL_TYPES = ("code", "markdown", "raw")

# nbdev comment directives and the nbprod marks they stand for.
_DIRECTIVE_RE = re.compile(r"^\s*#\|\s*([\w-]+)(?::)?\s*(.*?)\s*$")
_DIRECTIVE_MARKS = {"export": "export", "exporti": "export", "exports": "export", "hide": "skip",
                    "serve": "serve"}


class Node(dict):
    """A JSON object of the notebook with attribute access (``node.cells``), as nbformat's
    ``NotebookNode``; ``nbformat.from_dict(node)`` converts when a library needs the real one."""

    __slots__ = ()

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None


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
    #: The file's text as read: a save rewrites only the cells that changed in it.
    text: str | None = field(default=None, repr=False)
    #: Read from an nbformat 3 file (upgraded in memory): saving it would rewrite the file
    #: as nbformat 4.
    upgraded_from_v3: bool = False

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

    @property
    def is_python(self) -> bool:
        """Whether the kernel runs Python (what ruff, export and the tag proposals read)."""
        return self.kernel_language in ("python", "python3", "ipython", "ipython3")


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
        When the file is missing, not a regular file, too large, not UTF-8 JSON, or not a
        valid nbformat 3/4 notebook.
    """
    path = Path(path)
    return loads(read_bytes(path, max_bytes=max_bytes), path=path)


def read_bytes(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a notebook file, read only if it is a regular file of at most ``max_bytes``.

    A FIFO would block the reader forever, a character device such as ``/dev/zero`` would
    fill memory, and a symlink loop raises deep inside ``pathlib``: each is refused with one
    line before anything reads it. The size is checked before reading and again while
    reading (a file that grows meanwhile cannot slip past the cap), and the file is opened
    non-blocking and checked again on the open descriptor, so a path swapped for a FIFO
    between the check and the open is refused rather than waited on.

    Raises
    ------
    NotebookError
        When the path is missing, a folder, a symlink loop, not a regular file, unreadable
        or larger than ``max_bytes``.
    """
    path = Path(path)
    _check_size(path, check_readable(path).st_size, max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise NotebookError(_stat_problem(path, exc)) from None
    try:
        opened = os.fstat(fd)
        _check_regular(path, opened.st_mode)
        chunks: list[bytes] = []
        total = 0
        # The whole file in one read as a rule (one more byte tells a file that grew).
        size = min(opened.st_size, max_bytes) + 1
        while True:
            chunk = os.read(fd, size)
            size = 1 << 20
            if not chunk:
                break
            total += len(chunk)
            _check_size(path, total, max_bytes)
            chunks.append(chunk)
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def check_readable(path: str | Path) -> os.stat_result:
    """Refuse, without reading it, a path ``read_bytes`` would refuse for what it is (missing,
    a folder, a symlink loop, a FIFO or device), and return its ``stat``; for ``read_bytes``
    and for callers that hand paths to other programs (ruff) before nbprod reads them."""
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise NotebookError(_stat_problem(path, exc)) from None
    _check_regular(path, info.st_mode)
    return info


def _stat_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{path}: is a symlink loop (links that point back to each other); fix the link"
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"{path}: broken symlink (its target does not exist); check the link"
        return f"{path}: no such file; check the path"
    if exc.errno == errno.EISDIR:
        return f"{path}: is a folder, not a notebook file"
    return f"{path}: cannot read: {exc.strerror}"


_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise NotebookError(f"{path}: is a folder, not a notebook file")
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    target = f" (a symlink to {os.path.realpath(path)})" if os.path.islink(path) else ""
    raise NotebookError(
        f"{path}{target}: is {kind}, not a notebook file; nbprod reads only regular files"
    )


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise NotebookError(
            f"{path}: file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit;"
            " raise it with --max-size or clear large outputs"
        )


def loads(data: bytes | str, *, path: str | Path | None = None) -> Notebook:
    """Parse notebook content (bytes or text) with the same checks as ``load``."""
    where = str(path) if path is not None else "<notebook>"
    text = _decode(data, where) if isinstance(data, bytes) else data
    if not text or text.isspace():
        raise NotebookError(f"{where}: file is empty; a notebook is a JSON object")
    raw = _parse_json(text, where)
    notes: list[str] = []
    upgraded = isinstance(raw, dict) and raw.get("nbformat") == 3
    raw = _check_version(raw, where, notes)
    _check_structure(raw, where)
    if _may_hold_surrogate(data):
        _check_surrogates(raw, where)
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
        text=text,
        upgraded_from_v3=upgraded,
    )


def dumps(nb: Notebook) -> str:
    """The notebook's text: the file as read with only the changed cells (and top-level
    values) rewritten, in its own layout (``nbprod.splice``); else serialised as Jupyter does
    (sorted keys, UTF-8), keeping the file's own indentation."""
    import copy

    if nb.text is not None:
        from .splice import splice

        spliced = splice(nb.text, nb.node, _split_cell)
        if spliced is not None:
            return spliced
    node = _split_lines(copy.deepcopy(nb.node))
    text = json.dumps(node, indent=nb.indent, sort_keys=True, ensure_ascii=False)
    return text + "\n" if nb.trailing_newline else text


# Jupyter stores multi-line text as lists of lines: sources, stream text, and the text-like
# entries of MIME bundles (not JSON ones). The same layout as nbformat's writer, without
# importing nbformat (slow to import) on the --fix path.
_SPLIT_MIMES = ("application/javascript", "image/svg+xml")


def _split_bundle(bundle: Any) -> None:
    if isinstance(bundle, dict):
        for key, value in bundle.items():
            if isinstance(value, str) and (key.startswith("text/") or key in _SPLIT_MIMES):
                bundle[key] = value.splitlines(True)


def _outputs(cell: dict) -> list:
    """A code cell's outputs (checked to be a list of objects); other cells have none."""
    return cell["outputs"] if cell.get("cell_type") == "code" else []


def _split_lines(node: Any) -> Any:
    for cell in node.get("cells", []):
        _split_cell(cell)
    return node


def _split_cell(cell: dict) -> dict:
    if isinstance(cell.get("source"), str):
        cell["source"] = cell["source"].splitlines(True)
    attachments = cell.get("attachments")
    for attachment in attachments.values() if isinstance(attachments, dict) else ():
        _split_bundle(attachment)
    for output in _outputs(cell):
        if output.get("output_type") in ("execute_result", "display_data"):
            _split_bundle(output.get("data"))
        elif isinstance(output.get("text"), str):
            output["text"] = output["text"].splitlines(True)
    return cell


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
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=Node)
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
    from .nbformat_v3 import upgrade

    upgraded = upgrade(raw, where, Node)
    notes.append("nbformat 3 notebook upgraded to 4 in memory; the file is unchanged")
    return upgraded


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
            raise NotebookError(
                f"{where}: cell {index} is a JSON {_json_type(cell)}, not an object"
            )
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
            if "outputs" not in cell:
                raise NotebookError(
                    f"{where}: code cell {index} has no 'outputs' list; re-save the notebook"
                    " in Jupyter"
                )
            outputs = cell["outputs"]
            if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
                raise NotebookError(f"{where}: cell {index} outputs must be a list of objects")
            count = cell.get("execution_count")
            if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
                raise NotebookError(
                    f"{where}: cell {index} execution_count must be an integer or null, got"
                    f" {json.dumps(count)[:40]}"
                )


# A JSON escape of a UTF-16 surrogate (``\\ud800``), or such a character in text given
# directly. A valid pair decodes to one character; a lone half decodes to a ``str`` no
# encoder can write, so every later write (terminal, receipt, output copy) would fail.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_TEXT = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_CHAR = re.compile("[\ud800-\udfff]")


def _may_hold_surrogate(data: bytes | str) -> bool:
    """Whether the parsed notebook may hold a lone surrogate (then each part is checked).

    One search on the raw bytes (a pattern with a literal prefix: it runs at memory speed);
    bytes that decoded as UTF-8 cannot hold a surrogate character itself, only an escape of
    one. Text given directly may hold either.
    """
    if isinstance(data, bytes):
        return _SURROGATE_ESCAPE.search(data) is not None
    return bool(_SURROGATE_ESCAPE_TEXT.search(data) or _SURROGATE_CHAR.search(data))


def _check_surrogates(raw: dict, where: str) -> None:
    """Refuse text holding a lone surrogate, naming the cell and the part it is in."""
    if not _encodable(raw.get("metadata", {})):
        raise NotebookError(f"{where}: notebook metadata {_SURROGATE_HINT}")
    for index, cell in enumerate(raw["cells"], start=1):
        if _encodable(cell):
            continue
        part = next((key for key in ("source", "outputs", "metadata", "attachments")
                     if not _encodable(cell.get(key))), "content")
        cell_id = cell.get("id")
        label = f"cell {index}" + (f" (id {cell_id!r})" if isinstance(cell_id, str) else "")
        raise NotebookError(f"{where}: {label} {part} {_SURROGATE_HINT}")
    if not _encodable(raw):
        raise NotebookError(f"{where}: {_SURROGATE_HINT}")


_SURROGATE_HINT = (
    "holds a lone UTF-16 surrogate (such as \\ud800), which is not text; remove it and"
    " re-save the notebook"
)


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate(raw: dict, where: str, notes: list[str]) -> Any:
    for cell in raw["cells"]:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        for output in _outputs(cell):
            if isinstance(output.get("text"), list) and all(
                isinstance(t, str) for t in output["text"]
            ):
                output["text"] = "".join(output["text"])
    _repair_ids(raw, notes)
    minor = raw.get("nbformat_minor", 0)
    try:
        _schema_check(raw, minor, relaxed=False)
    except _SchemaViolation as strict:
        # Jupyter opens notebooks that carry extra keys (tools add them) with a warning;
        # nbprod does the same, but refuses anything the relaxed schema refuses too.
        try:
            _schema_check(raw, minor, relaxed=True)
        except _SchemaViolation as exc:
            raise NotebookError(f"{where}: invalid notebook{exc}") from None
        notes.append(
            f"not strictly valid nbformat 4.{minor} ({str(strict).lstrip(': ')});"
            " unexpected keys kept as they are"
        )
    if minor > _LATEST_MINOR:
        notes.append(f"nbformat 4.{minor} is newer than this nbformat knows; read as 4.x")
    return raw


class _SchemaViolation(Exception):
    """Where (a JSON path) and how a notebook breaks nbformat's schema."""

    def __init__(self, path: list, message: str):
        hint = ""
        if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
            hint = f" (cell {path[1] + 1})"
        super().__init__(f"{hint} at /{'/'.join(str(p) for p in path)}: {message[:200]}")


# Each nbformat 4.x schema only adds optional fields to the one before, except that 4.5
# requires cell ids. One schema serves every 4.x file: 4.5's with ids optional (missing,
# duplicate and malformed ids of 4.5 files are repaired in memory before validation).
_LATEST_MINOR = 5
_OUTPUT_TYPES = ("execute_result", "display_data", "stream", "error")
_PARTS = ("notebook", "code", "markdown", "raw", *_OUTPUT_TYPES)
_CELL_ID_RE = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class _Checks:
    """Compiled checks for the notebook shell, each cell kind and each output kind; each
    part is compiled on first use and kept for the process, and its code is kept on disk
    (``_cached_check``)."""

    def __init__(self, relaxed: bool):
        self.relaxed = relaxed
        self._schema: dict | None = None
        self._compiled: dict[str, Any] = {}

    def __getitem__(self, part: str) -> Any:
        if part not in self._compiled:
            schema = self._load()
            if part == "notebook":
                target = schema
            else:
                name = f"{part}_cell" if part in ("code", "markdown", "raw") else part
                target = {"definitions": schema["definitions"], "$ref": f"#/definitions/{name}"}
            self._compiled[part] = _cached_check(target)
        return self._compiled[part]

    def _load(self) -> dict:
        if self._schema is None:
            import importlib.util

            spec = importlib.util.find_spec("nbformat")
            if spec is None or spec.origin is None:
                raise NotebookError("nbformat is not installed; pip install nbformat")
            schema_file = Path(spec.origin).parent / "v4" / "nbformat.v4.5.schema.json"
            schema = json.loads(schema_file.read_text(encoding="utf-8"))
            schema["properties"]["nbformat_minor"]["minimum"] = 0
            definitions = schema["definitions"]
            for kind in ("code_cell", "markdown_cell", "raw_cell"):
                required = definitions[kind]["required"]
                definitions[kind]["required"] = [key for key in required if key != "id"]
            if self.relaxed:
                schema = _relax(schema)
                definitions = schema["definitions"]
                definitions["cell_id"] = {}
            # Cells and outputs are checked one by one, so the shell accepts any items.
            schema["properties"]["cells"] = {"type": "array"}
            # Text is a string or a list of strings. As ``oneOf``, every value is checked
            # against both and fails one, raising an exception each time (about a tenth of
            # the time spent reading a notebook). ``items`` applies to arrays only, so one
            # schema with both types means the same and raises nothing on valid text.
            definitions["misc"]["multiline_string"] = {
                "type": ["string", "array"], "items": {"type": "string"}}
            definitions["code_cell"]["properties"]["outputs"] = {"type": "array"}
            self._schema = schema
        return self._schema


_CHECKS = {False: _Checks(relaxed=False), True: _Checks(relaxed=True)}


def _cached_check(schema: dict) -> Any:
    """fastjsonschema's check of ``schema``. Generating and compiling its code costs about
    25 ms for all the parts, paid by every ``nbprod lint`` before any notebook is read, so
    the compiled code is kept in nbprod's cache folder (``schema/``, as Python keeps
    ``.pyc`` files), keyed by the schema, fastjsonschema's version and the Python version.
    A missing, corrupt or unwritable cache only means compiling again."""
    import marshal
    import sys

    import fastjsonschema
    from blake3 import blake3

    text = json.dumps(schema, sort_keys=True)
    key = blake3(f"{fastjsonschema.VERSION}\0{sys.implementation.cache_tag}\0{text}".encode())
    file = default_cache_folder() / "schema" / f"{key.hexdigest()[:32]}.marshal"
    try:
        code = marshal.loads(file.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        code = compile(fastjsonschema.compile_to_code(schema, use_default=False),
                       "<nbformat schema>", "exec")
        try:
            file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(file, marshal.dumps(code), durable=False)
        except OSError:
            pass
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - nbprod's own generated validator, as a .pyc is
    return namespace["validate"]


def prepare_validation() -> None:
    """Compile the schema checks now; a process about to fork workers calls this once so
    that the workers inherit the compiled code instead of each compiling it."""
    for part in _PARTS:
        _CHECKS[False][part]


def _schema_check(raw: dict, minor: int, *, relaxed: bool) -> None:
    """Validate ``raw`` against nbformat's schema.

    The schema's ``oneOf`` over cell and output kinds makes a generic validator try every
    kind for every cell; dispatching on ``cell_type`` and ``output_type`` (already checked)
    validates each part once, several times faster on real notebooks.
    """
    checks = _CHECKS[relaxed]
    _run_check(checks["notebook"], raw, [])
    for index, cell in enumerate(raw["cells"]):
        _run_check(checks[cell["cell_type"]], cell, ["cells", index])
        for o_index, output in enumerate(_outputs(cell)):
            kind = output.get("output_type")
            where = ["cells", index, "outputs", o_index]
            if kind not in _OUTPUT_TYPES:
                raise _SchemaViolation(
                    where, f"output_type {json.dumps(kind)[:40]} is not one of {_OUTPUT_TYPES}"
                )
            _run_check(checks[kind], output, where)


def _run_check(check: Any, data: Any, prefix: list) -> None:
    try:
        check(data)
    except _schema_error_type() as exc:
        path = [int(p) if str(p).isdigit() else p for p in getattr(exc, "path", [])[1:]]
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        message = re.sub(r"^data(?:[.\[]\S*)?\s", "", message)
        raise _SchemaViolation(prefix + path, message) from None
    except NotebookError:
        raise
    except Exception as exc:  # noqa: BLE001 - a validator crash on odd input is still bad input
        raise _SchemaViolation(prefix, f"cannot be validated ({type(exc).__name__})") from None


def _schema_error_type() -> type[Exception]:
    from fastjsonschema import JsonSchemaException

    return JsonSchemaException


def _relax(schema: Any) -> Any:
    """The schema with every ``additionalProperties: false`` lifted."""
    if isinstance(schema, dict):
        return {
            k: _relax(v)
            for k, v in schema.items()
            if not (k == "additionalProperties" and v is False)
        }
    if isinstance(schema, list):
        return [_relax(v) for v in schema]
    return schema


def _repair_ids(raw: dict, notes: list[str]) -> None:
    """Give cells of nbformat >= 4.5 missing, malformed or duplicate ids a fresh one (in
    memory only)."""
    if raw.get("nbformat_minor", 0) < 5:
        return
    seen: set[str] = set()
    repaired = 0
    for index, cell in enumerate(raw["cells"], start=1):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not _CELL_ID_RE.match(cell_id) or cell_id in seen:
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
        notes.append(f"{repaired} cell id(s) missing, malformed or duplicated; repaired in memory")


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
