"""Every built-in rule: documented, named and numbered by the conventions, and checked against
its fixture notebook and golden result (tests/data/notebooks/lint, tests/data/expected/lint)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from nbprod.lint.checker import LintConfig, lint
from nbprod.lint.output import diagnostic_to_json
from nbprod.lint.rule import DOC_SECTIONS
from nbprod.lint.rules import BUILTIN_RULES, rule_registry
from nbprod.notebook import load

FIXTURES = Path(__file__).parents[2] / "data" / "notebooks" / "lint"
EXPECTED = Path(__file__).parents[2] / "data" / "expected" / "lint"
FAMILY_BLOCKS = {
    "hygiene": 0,
    "parameters": 1,
    "portability": 2,
    "production": 3,
    "secrets": 4,
    "drift": 5,
    "ml": 6,
}
CODES = [rule.code for rule in BUILTIN_RULES]


def lint_fixture(name: str, code: str, **overrides):
    """Lint fixture ``name`` with only rule ``code``; returns (notebook, diagnostics)."""
    nb = load(FIXTURES / f"{name}.ipynb")
    meta = nb.node.metadata.get("nbprod-fixture", {})
    if "filename" in meta:
        nb.path = FIXTURES / meta["filename"]
    config = LintConfig(select=(code,), **{**meta.get("config", {}), **overrides})
    return nb, lint(nb, config, project_root=FIXTURES)


def as_json(diagnostics) -> str:
    rows = []
    for diagnostic in diagnostics:
        row = diagnostic_to_json(diagnostic)
        row["filename"] = Path(row["filename"]).name
        rows.append(row)
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def load_fixture_maker():
    """The fixture generator, whose fake credentials the secret tests look for."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_at_least_thirty_rules():
    assert len(BUILTIN_RULES) >= 30


@pytest.mark.parametrize("code", CODES)
def test_rule_has_fixture_and_golden(code, request):
    assert (FIXTURES / f"{code}.ipynb").is_file(), f"{code} has no fixture notebook"
    if not request.config.getoption("--update-golden"):
        assert (EXPECTED / f"{code}.json").is_file(), f"{code} has no golden result"


@pytest.mark.parametrize("code", CODES)
def test_rule_matches_golden(code, golden):
    nb, result = lint_fixture(code, code)
    assert result.diagnostics, f"{code} finds nothing in its fixture"
    assert {d.code for d in result.diagnostics} == {code}
    golden(f"expected/lint/{code}.json", as_json(result.diagnostics))


@pytest.mark.parametrize("code", CODES)
def test_fixture_has_negative_cases(code):
    """Some line of the fixture is not reported: each fixture shows what the rule accepts."""
    nb, result = lint_fixture(code, code)
    if any(d.cell is None for d in result.diagnostics):
        # A notebook-level rule: its negative case is a notebook of its own.
        _, clean = lint_fixture(f"{code}-ok", code)
        assert clean.diagnostics == []
        return
    lines = {
        (cell.index, number)
        for cell in nb.cells
        for number, text in enumerate(cell.source.split("\n"), start=1)
        if text.strip()
    }
    flagged = {(d.cell, d.line) for d in result.diagnostics if d.output is None}
    assert lines - flagged, f"every line of the {code} fixture is reported"


@pytest.mark.parametrize("code", CODES)
def test_diagnostics_point_into_their_cell(code):
    nb, result = lint_fixture(code, code)
    for diagnostic in result.diagnostics:
        if diagnostic.cell is None:
            continue
        cell = nb.cells[diagnostic.cell - 1]
        assert diagnostic.cell_id == cell.id
        if diagnostic.output is None:
            lines = cell.source.split("\n")
            assert 1 <= diagnostic.line <= len(lines)
            assert 1 <= diagnostic.column <= len(lines[diagnostic.line - 1]) + 1
        else:
            assert 1 <= diagnostic.output <= len(cell.outputs)


@pytest.mark.parametrize("rule", BUILTIN_RULES, ids=CODES)
def test_docstring_has_every_section(rule):
    doc = rule.documentation()
    positions = [doc.find(section) for section in DOC_SECTIONS]
    assert all(p >= 0 for p in positions), f"{rule.code} lacks a section"
    assert positions == sorted(positions), f"{rule.code} sections out of order"
    if rule.fix_applicability is not None:
        assert "## Fix safety" in doc, f"{rule.code} is fixable but does not say how safe"
    else:
        assert "## Fix safety" not in doc, f"{rule.code} documents a fix it does not have"
    for section in re.split(r"^## .*$", doc, flags=re.M)[1:]:
        assert section.strip(), f"{rule.code} has an empty section"


@pytest.mark.parametrize("rule", BUILTIN_RULES, ids=CODES)
def test_code_is_in_its_family_block(rule):
    assert re.fullmatch(r"NB\d{3}", rule.code)
    family = rule.__module__.rsplit(".", 1)[-1]
    assert int(rule.code[2]) == FAMILY_BLOCKS[family]


def test_names_are_unique_kebab_case():
    names = [rule.name for rule in BUILTIN_RULES]
    assert len(set(names)) == len(names)
    assert len(set(CODES)) == len(CODES)
    for name in names:
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", name), name


def test_registry_finds_rules_by_code_and_name():
    for rule in BUILTIN_RULES:
        assert rule_registry.get(rule.code) is rule
        assert rule_registry.get(rule.name) is rule


def test_secret_values_never_reach_a_diagnostic():
    fx = load_fixture_maker()
    secrets = [fx.FAKE_AWS, fx.FAKE_AWS_SECRET, fx.FAKE_GITHUB, fx.FAKE_OPENAI, fx.FAKE_SLACK,
               fx.FAKE_JWT, "s3cret", "hunter2", "hunter22", "abcd1234efgh", "MIIEpAIBAAKCAQEA"]
    found = []
    for code in [c for c in CODES if c.startswith("NB4")]:
        _, result = lint_fixture(code, code)
        found += result.diagnostics
    assert len(found) >= 12
    for diagnostic in found:
        text = repr(diagnostic) + json.dumps(diagnostic_to_json(diagnostic)) + repr(
            dataclasses.asdict(diagnostic)
        )
        for secret in secrets:
            assert secret not in text, f"{diagnostic.code} leaks a secret"


def test_secrets_are_masked_with_their_ends():
    _, result = lint_fixture("NB401", "NB401")
    assert "AKIA************MPLE" in result.diagnostics[0].message


def test_base64_images_are_not_scanned():
    _, result = lint_fixture("NB401", "NB401")
    assert all(d.output != 2 for d in result.diagnostics)
