"""Renderers for lint findings: one function per ``--output-format``.

Every renderer takes diagnostics already sorted (path, cell, output, line, column, code) and
returns text, so the output is deterministic. Lines and columns are within the cell; formats
with no notion of cells (SARIF, GitHub annotations, GitLab and JUnit reports) give the line
and column in the notebook file instead (``nbprod.lint.file_lines``), and carry the cell in
the message and, for SARIF, in each result's ``properties``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import PurePath

from .rerun import Verdict
from .rule import Applicability, Diagnostic, Severity

__all__ = [
    "FORMATS", "Style", "diagnostic_to_json", "render", "render_verdicts_json", "statistics",
]

#: ``style(kind, text) -> text``: how the CLI colours parts of the text output on a terminal.
#: Kinds: ``path``, ``code``, ``blocker`` (the code of a finding that blocks a rerun),
#: ``fix``, ``fail`` and ``ok`` (the verdict lines).
Style = Callable[[str, str], str]


def _plain(_kind: str, text: str) -> str:
    return text


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://nbprod.readthedocs.io/en/latest/lint/"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_GITLAB_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}
# Characters XML 1.0 cannot hold (a message quoting a line may carry one): shown as U+FFFD.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def diagnostic_to_json(d: Diagnostic) -> dict:
    """A diagnostic as JSON data; field names follow ruff's JSON output where they overlap."""
    return {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "severity": d.severity.value,
        "filename": d.path,
        "cell": d.cell,
        "cell_id": d.cell_id,
        "output": d.output,
        "location": {"row": d.line, "column": d.column},
        "end_location": {"row": d.end_line or d.line, "column": d.end_column or d.column},
        "fix": (
            {"applicability": d.fix_applicability.value, "message": d.fix_title}
            if d.fix_applicability
            else None
        ),
        "url": d.url,
        "rerun_blocker": d.rerun_blocker,
    }


def _where(d: Diagnostic) -> str:
    where = f"cell {d.cell}" if d.cell else ""
    if d.output:
        where += f", output {d.output}"
    return where


def render_text(
    diagnostics: list[Diagnostic],
    verdicts: list[Verdict] | None = None,
    style: Style | None = None,
) -> str:
    """``path:cell 3:2:5: NB001 [*] message``, as ruff's concise format names notebook cells;
    ``[*]`` marks findings with a safe fix. With ``verdicts``, each notebook's findings are
    followed by its rerun verdict line (``path: will fail at cell 3: ...``)."""
    style = style or _plain
    lines = [_text_line(d, style) for d in diagnostics]
    if verdicts is None:
        return "\n".join(lines)
    by_path: dict[str, list[str]] = {}
    for d, line in zip(diagnostics, lines, strict=True):
        by_path.setdefault(d.path, []).append(line)
    out: list[str] = []
    for v in verdicts:
        out.extend(by_path.pop(v.path, []))
        kind = "fail" if v.will_fail else "ok"
        out.append(f"{style('path', v.path)}: {style(kind, v.text())}")
    for rest in by_path.values():
        out.extend(rest)
    return "\n".join(out)


def _text_line(d: Diagnostic, style: Style) -> str:
    where = f"{d.path}:cell {d.cell}:" if d.cell else f"{d.path}:"
    if d.output:
        where += f"output {d.output}:"
    # As ruff: [*] only when `--fix` alone repairs it; unsafe fixes are counted in the
    # summary as hidden fixes (`--unsafe-fixes`), not marked on each line.
    mark = " " + style("fix", "[*]") if d.fix_applicability is Applicability.SAFE else ""
    code = style("blocker" if d.rerun_blocker else "code", d.code)
    return f"{style('path', where)}{d.line}:{d.column}: {code}{mark} {d.message}"


def render_verdicts_json(verdicts: list[Verdict], diagnostics: list[Diagnostic]) -> str:
    """A JSON array with one object per notebook: its verdict and the findings that block a
    rerun (``nbprod lint --rerun --output-format json``)."""
    by_path: dict[str, list[dict]] = {}
    for d in diagnostics:
        if d.rerun_blocker:
            by_path.setdefault(d.path, []).append(diagnostic_to_json(d))
    items = [{**v.to_json(), "findings": by_path.get(v.path, [])} for v in verdicts]
    return json.dumps(items, indent=2, ensure_ascii=False, sort_keys=True)


def render_json(diagnostics: list[Diagnostic]) -> str:
    """A JSON array, one finding per line with its keys sorted (the server returns the same).

    One line per finding diffs and greps well, and is written by json's C encoder: an
    indented dump goes through the pure-Python one, a tenth of a second per few thousand
    findings.
    """
    if not diagnostics:
        return "[]"
    encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
    return "[\n" + ",\n".join(encode(diagnostic_to_json(d)) for d in diagnostics) + "\n]"


def render_github(diagnostics: list[Diagnostic]) -> str:
    """GitHub Actions workflow commands: one annotation per finding, at the line and column
    of the notebook file where the cell's code is (``_file_region``); the message starts
    with the cell as well."""
    region_of = _file_region(diagnostics)
    lines = []
    for d in diagnostics:
        level = _GITHUB_LEVEL.get(d.severity, "warning")
        region = region_of(d)
        props = [
            f"title={_escape_property(f'nbprod ({d.code})')}",
            f"file={_escape_property(PurePath(d.path).as_posix())}",
            f"line={region['startLine']}",
            f"col={region['startColumn']}",
        ]
        if "endLine" in region:
            props.append(f"endLine={region['endLine']}")
        if "endColumn" in region and region.get("endLine", region["startLine"]) == \
                region["startLine"]:
            props.append(f"endColumn={region['endColumn']}")
        where = _where(d)
        message = f"{where}: {d.message}" if where else d.message
        lines.append(f"::{level} {','.join(props)}::{_escape_data(message)}")
    return "\n".join(lines)


def _file_region(diagnostics: list[Diagnostic]) -> Callable[[Diagnostic], dict[str, int]]:
    """``d -> region``: where a finding is in the notebook file, as SARIF's ``region``
    (``startLine``, ``startColumn``, and ``endLine`` / ``endColumn`` when known). A finding
    in an output is placed at the output's first line. Each notebook is read once, and only
    its cells with findings are placed; when the file cannot be read or placed (not
    nbformat 4 JSON), the cell's own line and column are kept."""
    from .file_lines import FileLines

    cells: dict[str, set[int]] = {}
    for d in diagnostics:
        if d.cell is not None:
            cells.setdefault(d.path, set()).add(d.cell)
    files: dict[str, FileLines | None] = {}

    def region(d: Diagnostic) -> dict[str, int]:
        if d.path not in files:
            try:
                with open(d.path, encoding="utf-8-sig") as handle:
                    files[d.path] = FileLines(handle.read(), cells.get(d.path, set()))
            except (OSError, UnicodeDecodeError):
                files[d.path] = None
        places = files[d.path]
        start = places.place(d.cell, d.output, d.line, d.column) if places else None
        if start is None:
            found = {"startLine": d.line, "startColumn": d.column}
            found.update({k: v for k, v in (("endLine", d.end_line), ("endColumn", d.end_column))
                          if v})
            return found
        found = {"startLine": start[0], "startColumn": start[1]}
        if d.output is None and (d.end_line or d.end_column):
            end = places.place(d.cell, None, d.end_line or d.line, d.end_column or d.column)
            if end is not None:
                found.update({"endLine": end[0], "endColumn": end[1]})
        return found

    return region


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_sarif(diagnostics: list[Diagnostic]) -> str:
    """A SARIF 2.1.0 log with one run; ``tool.driver.rules`` describes every code reported.

    SARIF has no notion of notebook cells: each result's region is the line and column of
    the notebook file (``_file_region``), ``properties`` holds ``cell``, ``cell_id`` (and
    ``output``), and the message starts with the cell as well.
    """
    from ..version import __version__

    rules: list[dict] = []
    index: dict[str, int] = {}
    for d in diagnostics:
        if d.code not in index:
            index[d.code] = len(rules)
            rules.append(_sarif_rule(d))
    region_of = _file_region(diagnostics)
    results = []
    for d in diagnostics:
        region = region_of(d)
        where = _where(d)
        result = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": _SARIF_LEVEL.get(d.severity, "warning"),
            "message": {"text": f"{where}: {d.message}" if where else d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": PurePath(d.path).as_posix()},
                        "region": region,
                    }
                }
            ],
            "properties": {
                **{
                    key: value
                    for key, value in (
                        ("cell", d.cell), ("cell_id", d.cell_id), ("output", d.output)
                    )
                    if value is not None
                },
                "rerun_blocker": d.rerun_blocker,
            },
        }
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nbprod",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False, sort_keys=True)


def render_gitlab(diagnostics: list[Diagnostic]) -> str:
    """A GitLab code quality report (Code Climate JSON), for ``artifacts: reports:
    codequality``: one issue per finding, at the lines of the notebook file where its code
    is (``_file_region``), the message starting with the cell. GitLab tells issues apart
    by ``fingerprint``: a hash of the path, the code, the cell's id (or number) and the
    message, with a count for repeats, so an issue keeps its fingerprint while lines above
    it change."""
    from blake3 import blake3

    region_of = _file_region(diagnostics)
    seen: dict[str, int] = {}
    issues = []
    for d in diagnostics:
        region = region_of(d)
        identity = "\0".join((PurePath(d.path).as_posix(), d.code, str(d.cell_id or d.cell),
                               str(d.output), d.message))
        repeat = seen[identity] = seen.get(identity, -1) + 1
        where = _where(d)
        issues.append({
            "check_name": d.code,
            "description": f"{where}: {d.message}" if where else d.message,
            "fingerprint": blake3(f"{identity}\0{repeat}".encode()).hexdigest()[:32],
            "severity": _GITLAB_SEVERITY.get(d.severity, "minor"),
            "location": {
                "path": PurePath(d.path).as_posix(),
                "lines": {"begin": region["startLine"],
                          "end": region.get("endLine", region["startLine"])},
            },
        })
    return json.dumps(issues, indent=2, ensure_ascii=False, sort_keys=True)


def render_junit(diagnostics: list[Diagnostic]) -> str:
    """A JUnit XML report, for CI systems that show test results (Jenkins, Azure
    Pipelines, GitLab's test reports): one test suite per notebook with findings, one
    failed test case per finding (named ``nbprod.<code>``, with the line of the notebook
    file where its code is, ``_file_region``), as ruff's ``junit`` output. Without
    findings, one passing case says so."""
    from xml.etree import ElementTree

    region_of = _file_region(diagnostics)
    root = ElementTree.Element("testsuites", name="nbprod", tests=str(len(diagnostics) or 1),
                               failures=str(len(diagnostics)), errors="0")
    by_path: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_path.setdefault(d.path, []).append(d)
    if not diagnostics:
        suite = ElementTree.SubElement(root, "testsuite", name="nbprod", tests="1",
                                       failures="0", errors="0")
        ElementTree.SubElement(suite, "testcase", name="No findings")
    for path, found in by_path.items():
        name = PurePath(path).as_posix()
        suite = ElementTree.SubElement(root, "testsuite", name=name, tests=str(len(found)),
                                       failures=str(len(found)), errors="0")
        for d in found:
            region = region_of(d)
            case = ElementTree.SubElement(
                suite, "testcase", name=f"nbprod.{d.code}", classname=name,
                line=str(region["startLine"]), column=str(region["startColumn"]))
            where = _where(d)
            message = _XML_INVALID.sub("\ufffd", d.message)
            failure = ElementTree.SubElement(case, "failure", message=message,
                                             type=d.severity.value)
            failure.text = f"{where}: {message}" if where else message
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        root, encoding="unicode")


def _sarif_rule(d: Diagnostic) -> dict:
    """The driver's description of ``d.code``: from nbprod's registry, else from ruff's data."""
    from .rules import rule_registry

    rule: dict = {"id": d.code, "name": d.name}
    if d.code in rule_registry:
        cls = rule_registry.get(d.code)
        rule["shortDescription"] = {"text": cls.summary()}
        rule["properties"] = {
            "fix": cls.fix_applicability.value if cls.fix_applicability else "none",
            "source": "nbprod",
        }
    else:
        rule["shortDescription"] = {"text": d.name}
        rule["properties"] = {"source": "nbprod" if d.code.startswith("NB") else "ruff"}
    if d.url:
        rule["helpUri"] = d.url
    rule["defaultConfiguration"] = {"level": _SARIF_LEVEL.get(d.severity, "warning")}
    return rule


FORMATS: dict[str, Callable[[list[Diagnostic]], str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
    "gitlab": render_gitlab,
    "junit": render_junit,
}


def render(diagnostics: list[Diagnostic], fmt: str) -> str:
    """Render ``diagnostics`` (already sorted) in ``fmt``, one of ``FORMATS``."""
    return FORMATS[fmt](diagnostics)


def statistics(diagnostics: list[Diagnostic], fmt: str = "text") -> str:
    """Counts per code, most frequent first (ruff's ``--statistics``), as text or JSON."""
    counts: dict[str, list] = {}
    for d in diagnostics:
        entry = counts.setdefault(d.code, [0, d.name, False, False])
        entry[0] += 1
        entry[2] = entry[2] or d.fixable
        entry[3] = entry[3] or d.fix_applicability is Applicability.SAFE
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    if fmt == "json":
        return json.dumps(
            [
                {"code": code, "name": name, "count": count, "fixable": fixable}
                for code, (count, name, fixable, _safe) in ordered
            ],
            indent=2,
            sort_keys=True,
        )
    return "\n".join(
        f"{count:5d}\t{code}\t{'[*]' if safe else '[ ]'} {name}"
        for code, (count, name, _fixable, safe) in ordered
    )
