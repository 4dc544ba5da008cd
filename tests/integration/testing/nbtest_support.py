"""Writing small notebooks and pyproject files into a pytester folder for the plugin tests."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def result(text: str, count: int = 1) -> dict:
    return {
        "output_type": "execute_result",
        "execution_count": count,
        "data": {"text/plain": text},
        "metadata": {},
    }


def error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def write_notebook(folder: Path, name: str, *cells) -> Path:
    """Write a notebook of code cells; ids are c1, c2 ... in order.

    Each cell is a source string, or a dict with ``source`` and optionally ``tags``,
    ``outputs`` and ``execution_count`` (default: its position, as if run top to bottom).
    """
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 5
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for index, spec in enumerate(cells, start=1):
        spec = {"source": spec} if isinstance(spec, str) else spec
        cell = nbformat.v4.new_code_cell(spec["source"])
        cell.id = f"c{index}"
        cell.execution_count = spec.get("execution_count", index)
        cell.outputs = [nbformat.from_dict(o) for o in spec.get("outputs", [])]
        if spec.get("tags"):
            cell.metadata["tags"] = list(spec["tags"])
        nb.cells.append(cell)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def verdicts(junit_xml: Path) -> dict[str, str]:
    """Per notebook, "fail" if any of its test items failed or errored, else "pass".

    Read from a ``--junitxml`` report, whose ``classname`` is the notebook for both nbprod (one
    item per notebook) and nbval (one item per cell); skipped items count as passing.
    """
    found: dict[str, str] = {}
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        name = Path(case.get("classname", "")).name
        failed = case.find("failure") is not None or case.find("error") is not None
        found[name] = "fail" if failed or found.get(name) == "fail" else "pass"
    return found
