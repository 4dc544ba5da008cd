"""Builds, at test time, a folder of malformed notebooks and a folder of valid-but-odd ones.

Nothing is vendored: each file is written from a recipe here, so the corpus documents itself
and a fresh clone needs no data. ``MALFORMED`` maps a file name to (bytes, a fragment the
one-line error message must contain); ``ODD`` maps a file name to bytes nbprod must read.
"""

from __future__ import annotations

import json
from pathlib import Path


def _cell(source="x = 1", **extra) -> dict:
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "c1",
        "metadata": {},
        "outputs": [],
        "source": source,
    }
    cell.update(extra)
    return cell


def _nb(cells=None, minor=5, **extra) -> dict:
    nb = {
        "cells": [_cell()] if cells is None else cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": minor,
    }
    nb.update(extra)
    return nb


def _dump(data) -> bytes:
    return json.dumps(data, indent=1).encode("utf-8")


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


def _cell_without(key: str) -> dict:
    return _nb([{k: v for k, v in _cell().items() if k != key}])


VALID = _dump(_nb())

#: name -> (content, a fragment the error message must contain)
MALFORMED: dict[str, tuple[bytes, str]] = {
    "not-json.ipynb": (b"this is not json at all", "not valid JSON"),
    "truncated.ipynb": (VALID[: len(VALID) // 2], "not valid JSON"),
    "empty.ipynb": (b"", "empty"),
    "whitespace.ipynb": (b"  \n\t\n", "empty"),
    "list-top.ipynb": (b"[]", "not an object"),
    "empty-object.ipynb": (b"{}", "no 'nbformat'"),
    "string-top.ipynb": (b'"notebook"', "not an object"),
    "null-top.ipynb": (b"null", "not an object"),
    "no-nbformat.ipynb": (_dump(_without(_nb(), "nbformat")), "no 'nbformat'"),
    "nbformat-0.ipynb": (_dump(_nb(nbformat=0)), "nbformat 0 is not supported"),
    "nbformat-minus-1.ipynb": (_dump(_nb(nbformat=-1)), "nbformat -1 is not supported"),
    "nbformat-5.ipynb": (_dump(_nb(nbformat=5)), "nbformat 5 is not supported"),
    "nbformat-99.ipynb": (_dump(_nb(nbformat=99)), "nbformat 99 is not supported"),
    "nbformat-string.ipynb": (_dump(_nb(nbformat="4")), "'nbformat' must be an integer"),
    "nbformat-float.ipynb": (_dump(_nb(nbformat=4.0)), "'nbformat' must be an integer"),
    "nbformat-bool.ipynb": (_dump(_nb(nbformat=True)), "'nbformat' must be an integer"),
    "minor-negative.ipynb": (_dump(_nb(minor=-1)), "nbformat_minor"),
    "minor-string.ipynb": (_dump(_nb(minor="5")), "nbformat_minor"),
    "cells-null.ipynb": (_dump(_nb(cells=None) | {"cells": None}), "'cells' must be a list"),
    "cells-object.ipynb": (_dump(_nb() | {"cells": {"a": 1}}), "'cells' must be a list"),
    "no-cells.ipynb": (_dump(_without(_nb(), "cells")), "no 'cells'"),
    "cell-not-object.ipynb": (_dump(_nb([42])), "cell 1 is a JSON number"),
    "source-number.ipynb": (_dump(_nb([_cell(source=42)])), "cell 1 source must be text"),
    "source-list-of-numbers.ipynb": (_dump(_nb([_cell(source=[1, 2])])), "non-text items"),
    "bogus-cell-type.ipynb": (_dump(_nb([_cell(cell_type="python")])), "cell_type"),
    "missing-cell-type.ipynb": (_dump(_nb([_without(_cell(), "cell_type")])), "cell_type"),
    "missing-outputs.ipynb": (_dump(_cell_without("outputs")), "no 'outputs'"),
    "outputs-string.ipynb": (_dump(_nb([_cell(outputs="none")])), "outputs must be a list"),
    "bogus-output-type.ipynb": (
        _dump(_nb([_cell(outputs=[{"output_type": "movie"}])])),
        "output_type",
    ),
    "stream-without-name.ipynb": (
        _dump(_nb([_cell(outputs=[{"output_type": "stream", "text": "x"}])])),
        "cell 1",
    ),
    "execution-count-string.ipynb": (
        _dump(_nb([_cell(execution_count="3")])),
        "execution_count",
    ),
    "metadata-list.ipynb": (_dump(_nb() | {"metadata": []}), "'metadata' must be an object"),
    "cell-metadata-string.ipynb": (_dump(_nb([_cell(metadata="x")])), "metadata"),
    "nan.ipynb": (VALID.replace(b'"execution_count": null', b'"execution_count": NaN'), "NaN"),
    "infinity.ipynb": (
        VALID.replace(b'"execution_count": null', b'"execution_count": Infinity'),
        "Infinity",
    ),
    "bom.ipynb": (b"\xef\xbb\xbf" + VALID, "byte-order mark"),
    "utf16.ipynb": (VALID.decode().encode("utf-16"), "UTF-16"),
    "utf16-le-no-bom.ipynb": (VALID.decode().encode("utf-16-le"), "UTF-16"),
    "latin1.ipynb": (_dump(_nb([_cell(source="café")])).replace(b"caf\\u00e9", b"caf\xe9"),
                     "not valid UTF-8"),
    "deep-nesting.ipynb": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deep-nesting-object.ipynb": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    "v3-no-worksheets.ipynb": (_dump({"nbformat": 3, "nbformat_minor": 0, "metadata": {}}),
                               "worksheets"),
    "trailing-garbage.ipynb": (VALID + b"\n}{", "not valid JSON"),
    "binary.ipynb": (bytes(range(256)) * 4, "UTF"),
    "lone-surrogate.ipynb": (
        _dump(_nb([_cell(), _cell("s = 'SURROGATE'", id="c2")])).replace(b"SURROGATE", b"\\ud800"),
        "cell 2 (id 'c2') source holds a lone UTF-16 surrogate",
    ),
    "lone-surrogate-output.ipynb": (
        _dump(_nb([_cell(outputs=[{"output_type": "stream", "name": "stdout", "text": "X"}])]))
        .replace(b'"X"', b'"\\udfff"'),
        "cell 1 (id 'c1') outputs holds a lone UTF-16 surrogate",
    ),
}


def _fifo(path: Path) -> None:
    import os

    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _loop(path: Path) -> None:
    partner = path.with_name(path.stem + "-partner.ipynb")
    path.symlink_to(partner.name)
    partner.symlink_to(path.name)


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "inside.ipynb").write_bytes(VALID)


def _broken_link(path: Path) -> None:
    path.symlink_to("nowhere.ipynb")


#: name -> (how to make it, a fragment the error message must contain): paths that are not
#: regular files. Each would hang a reader (FIFO, /dev/zero) or crash one (symlink loop).
SPECIAL: dict[str, tuple] = {
    "fifo.ipynb": (_fifo, "is a named pipe (FIFO), not a notebook file"),
    "dev-zero.ipynb": (_dev_zero, "is a character device, not a notebook file"),
    "loop.ipynb": (_loop, "is a symlink loop"),
    "folder.ipynb": (_folder, "is a folder"),
    "broken-link.ipynb": (_broken_link, "broken symlink"),
}


def build_special(folder: Path) -> dict[Path, str]:
    """Make every ``SPECIAL`` path in ``folder``; path -> expected message fragment."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (make, fragment) in SPECIAL.items():
        path = folder / name
        make(path)
        expected[path] = fragment
    return expected


def _v3() -> bytes:
    return _dump(
        {
            "nbformat": 3,
            "nbformat_minor": 0,
            "metadata": {"name": "old"},
            "worksheets": [
                {
                    "cells": [
                        {"cell_type": "heading", "level": 1, "metadata": {}, "source": "Old"},
                        {
                            "cell_type": "code",
                            "collapsed": False,
                            "input": "x = 1\nprint(x)",
                            "language": "python",
                            "metadata": {},
                            "outputs": [],
                            "prompt_number": 1,
                        },
                    ],
                    "metadata": {},
                }
            ],
        }
    )


def _two_cells(minor: int, ids: tuple | None) -> dict:
    cells = [_cell("import os"), _cell("print(os.sep)")]
    for cell, cell_id in zip(cells, ids or (None, None), strict=True):
        if cell_id is None:
            cell.pop("id")
        else:
            cell["id"] = cell_id
    return _nb(cells, minor=minor)


#: name -> content of notebooks that are odd but readable (never rewritten by nbprod)
ODD: dict[str, bytes] = {
    "v3.ipynb": _v3(),
    **{f"v4.{m}.ipynb": _dump(_two_cells(m, None)) for m in range(0, 5)},
    "v4.5.ipynb": _dump(_two_cells(5, ("a", "b"))),
    "v4.99-future.ipynb": _dump(_two_cells(99, ("a", "b"))),
    "missing-ids.ipynb": _dump(_two_cells(5, None)),
    "duplicate-ids.ipynb": _dump(_two_cells(5, ("same", "same"))),
    "malformed-id.ipynb": _dump(_two_cells(5, ("has space", "ok"))),
    "non-ascii.ipynb": json.dumps(
        _nb([_cell("# données = 'é漢字😀'\nx = 'naïve'")]), ensure_ascii=False
    ).encode("utf-8"),
    "crlf.ipynb": _dump(_nb([_cell("x = 1\r\ny = 2\r\n")])).replace(b"\n", b"\r\n"),
    "extra-top-level-key.ipynb": _dump(_nb() | {"path_": "x"}),
    "ids-in-v4.4.ipynb": _dump(_two_cells(4, ("a", "b"))),
    "source-as-list.ipynb": _dump(_nb([_cell(["x = 1\n", "y = 2"])])),
    "empty-cells.ipynb": _dump(_nb([])),
    "markdown-only.ipynb": _dump(
        _nb([{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Title"}])
    ),
}


def build_malformed(folder: Path) -> dict[Path, str]:
    """Write every ``MALFORMED`` notebook into ``folder``; path -> expected message fragment."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (content, fragment) in MALFORMED.items():
        path = folder / name
        path.write_bytes(content)
        expected[path] = fragment
    return expected


def build_odd(folder: Path) -> list[Path]:
    """Write every ``ODD`` notebook into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in ODD.items():
        path = folder / name
        path.write_bytes(content)
        paths.append(path)
    return paths


def build_huge(path: Path, size: int = 200 * 2**20) -> Path:
    """A ``size``-byte file, written sparse (instant, no disk used): the size guard must
    refuse it from its size alone, without reading it."""
    with open(path, "wb") as handle:
        handle.write(b'{"nbformat": 4, "cells": [')
        handle.truncate(size)
    return path


def tree_digest(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder`` (name -> size and sha256), to prove nothing was written."""
    import hashlib

    digest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            if stat.st_size > 50 * 2**20:
                digest[str(path)] = (stat.st_size, f"mtime:{stat.st_mtime_ns}")
            else:
                digest[str(path)] = (stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            digest[str(path)] = (-1, "dir")
    return digest
