"""Output formats: golden files for text, json, sarif and github, plus format invariants."""

from __future__ import annotations

import json
from dataclasses import replace

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint.output import FORMATS, render, statistics
from nbprod.lint.rule import Applicability, Diagnostic, Severity

DIAGNOSTICS = sorted(
    [
        Diagnostic(
            code="NB001", name="execution-out-of-order",
            message="Cell executed out of order (execution count 1 after 2)",
            severity=Severity.WARNING, path="notebooks/explore.ipynb", cell=3, cell_id="b7e2",
            url="https://nbprod.readthedocs.io/en/latest/rules/NB001/",
        ),
        Diagnostic(
            code="F401", name="unused-import", message="`os` imported but unused",
            severity=Severity.WARNING, path="notebooks/explore.ipynb", cell=2, cell_id="a1",
            line=1, column=8, end_line=1, end_column=10, fix_title="Remove unused import: `os`",
            fix_applicability=Applicability.SAFE,
            url="https://docs.astral.sh/ruff/rules/unused-import",
        ),
        Diagnostic(
            code="NB999", name="test-secret-in-output",
            message="AWS key AKIA**** in output, 50%: a,b",
            severity=Severity.ERROR, path="notebooks/explore.ipynb", cell=5, cell_id=None,
            output=2, line=1, column=1,
        ),
        Diagnostic(
            code="F821", name="undefined-name", message="Undefined name `clean`",
            severity=Severity.ERROR, path="b, c/ü.ipynb", cell=7, cell_id="x9", line=4,
            column=5, end_line=4, end_column=10,
            url="https://docs.astral.sh/ruff/rules/undefined-name",
        ),
    ],
    key=Diagnostic.sort_key,
)

GOLDEN = {"text": "text.txt", "json": "json.json", "sarif": "sarif.json", "github": "github.txt",
          "gitlab": "gitlab.json", "junit": "junit.xml"}


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_golden(golden, fmt):
    golden(f"expected/output/{GOLDEN[fmt]}", render(DIAGNOSTICS, fmt) + "\n")


def test_every_format_has_a_golden():
    assert set(FORMATS) == set(GOLDEN)


def test_json_fields_follow_ruff_plus_cells():
    data = json.loads(render(DIAGNOSTICS, "json"))
    assert [d["code"] for d in data] == [d.code for d in DIAGNOSTICS]
    first = data[0]
    assert list(first) == sorted(first)
    assert {"code", "message", "filename", "location", "end_location", "fix", "url", "cell",
            "cell_id"} <= set(first)


def test_sarif_structure():
    log = json.loads(render(DIAGNOSTICS, "sarif"))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["F821", "F401", "NB001", "NB999"]
    assert rules[2]["properties"]["source"] == "nbprod"
    assert rules[2]["shortDescription"]["text"].endswith(".")  # the rule's summary
    assert rules[0]["properties"]["source"] == "ruff"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"].startswith(f"cell {result['properties']['cell']}")
    assert run["results"][2]["properties"] == {
        "cell": 3, "cell_id": "b7e2", "rerun_blocker": False,
    }
    assert run["results"][3]["properties"] == {"cell": 5, "output": 2, "rerun_blocker": False}


def test_github_escapes_properties_and_data():
    lines = render(DIAGNOSTICS, "github").splitlines()
    assert lines[0].startswith("::error title=nbprod (F821),file=b%2C c/ü.ipynb,line=4,col=5,")
    assert lines[-1] == (
        "::error title=nbprod (NB999),file=notebooks/explore.ipynb,line=1,col=1::"
        "cell 5, output 2: AWS key AKIA**** in output, 50%25: a,b"
    )


def test_statistics_text_and_json():
    stats = statistics(DIAGNOSTICS + DIAGNOSTICS[:1])
    assert stats.splitlines()[0] == "    2\tF821\t[ ] undefined-name"
    data = json.loads(statistics(DIAGNOSTICS, "json"))
    assert {"code": "F401", "name": "unused-import", "count": 1, "fixable": True} in data


def test_unsafe_only_fix_is_not_marked_in_text():
    unsafe = replace(DIAGNOSTICS[1], code="NB999", fix_applicability=Applicability.UNSAFE)
    assert render([unsafe], "text").endswith(": NB999 `os` imported but unused")
    assert "[ ]" in statistics([unsafe]) and " [*] " in render([DIAGNOSTICS[1]], "text")
    assert json.loads(render([unsafe], "json"))[0]["fix"]["applicability"] == "unsafe"


def test_empty_outputs_are_valid():
    assert render([], "text") == "" and json.loads(render([], "json")) == []
    assert json.loads(render([], "sarif"))["runs"][0]["results"] == []


def test_github_and_sarif_place_findings_at_the_lines_of_the_notebook_file(run_cli, tmp_path):
    error = {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "", "traceback": []}
    nb = make_notebook("x = 1", "import os\nprint(undefined_name)",
                       {"source": "1 / 0", "outputs": [error], "execution_count": 3})
    (tmp_path / "nb.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    file_lines = (tmp_path / "nb.ipynb").read_text(encoding="utf-8").split("\n")

    def at(line: int, column: int, length: int) -> str:
        return file_lines[line - 1][column - 1:column - 1 + length]

    github = run_cli("lint", "nb.ipynb", "--output-format", "github", "--no-cache", cwd=tmp_path)
    found = {}
    for annotation in github.stdout.splitlines():
        props = dict(p.split("=", 1) for p in annotation.split("::")[1].split(" ", 1)[1].split(","))
        found[props["title"].split("(")[1].rstrip(")")] = props
    assert at(int(found["F821"]["line"]), int(found["F821"]["col"]), 14) == "undefined_name"
    assert at(int(found["F401"]["line"]), int(found["F401"]["col"]), 2) == "os"
    assert int(found["F821"]["endColumn"]) - int(found["F821"]["col"]) == 14
    assert at(int(found["NB007"]["line"]), 1, 80).strip() == "{"  # the error output's start

    sarif = run_cli("lint", "nb.ipynb", "--output-format", "sarif", "--no-cache", cwd=tmp_path)
    (result,) = [r for r in json.loads(sarif.stdout)["runs"][0]["results"]
                 if r["ruleId"] == "F821"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert at(region["startLine"], region["startColumn"], 14) == "undefined_name"
    assert result["properties"]["cell"] == 2


def test_gitlab_fingerprints_are_unique_and_survive_moved_lines():
    twice = [DIAGNOSTICS[1], replace(DIAGNOSTICS[1], column=12)]
    first = json.loads(render(twice, "gitlab"))
    assert len({issue["fingerprint"] for issue in first}) == 2
    moved = json.loads(render([replace(d, line=d.line + 5) for d in twice], "gitlab"))
    assert [i["fingerprint"] for i in moved] == [i["fingerprint"] for i in first]
    assert {i["severity"] for i in json.loads(render(DIAGNOSTICS, "gitlab"))} == {
        "major", "minor"}


def test_gitlab_reports_lines_of_the_notebook_file(run_cli, tmp_path):
    nb = make_notebook("x = 1", "import os\nprint(undefined_name)")
    (tmp_path / "nb.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    file_lines = (tmp_path / "nb.ipynb").read_text(encoding="utf-8").split("\n")
    result = run_cli("lint", "nb.ipynb", "--output-format", "gitlab", "--no-cache", cwd=tmp_path)
    (issue,) = [i for i in json.loads(result.stdout) if i["check_name"] == "F821"]
    assert issue["location"]["path"] == "nb.ipynb"
    assert "print(undefined_name)" in file_lines[issue["location"]["lines"]["begin"] - 1]
    assert issue["description"].startswith("cell 2: ")


def test_junit_is_valid_xml_at_the_lines_of_the_notebook_file(run_cli, tmp_path):
    from xml.etree import ElementTree

    nb = make_notebook("x = 1", "import os\nprint(undefined_name)")
    (tmp_path / "nb.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    file_lines = (tmp_path / "nb.ipynb").read_text(encoding="utf-8").split("\n")
    result = run_cli("lint", "nb.ipynb", "--output-format", "junit", "--no-cache", cwd=tmp_path)
    root = ElementTree.fromstring(result.stdout.encode())
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert root.get("failures") == str(len(cases)) == "2"
    line = int(cases["nbprod.F821"].get("line"))
    assert "print(undefined_name)" in file_lines[line - 1]
    assert cases["nbprod.F821"].find("failure").text.startswith("cell 2: ")
    odd = replace(DIAGNOSTICS[0], message="form\x0cfeed and \x1b[31mcolour")
    ElementTree.fromstring(render([odd], "junit").encode())  # still well-formed
