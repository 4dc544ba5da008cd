"""docs/rules.md is generated from the rule docstrings and must be kept in step with them."""

from __future__ import annotations

from pathlib import Path

from nbprod.lint.docs import main, render_catalogue, rule_table
from nbprod.lint.rules import BUILTIN_RULES

CATALOGUE = Path(__file__).parents[3] / "docs" / "rules.md"


def test_catalogue_is_up_to_date():
    assert CATALOGUE.read_text(encoding="utf-8") == render_catalogue(), (
        "docs/rules.md is out of date: run `python -m nbprod.lint.docs`"
    )


def test_catalogue_lists_and_documents_every_rule():
    text = render_catalogue()
    for rule in BUILTIN_RULES:
        assert f"| [{rule.code}](#{rule.code.lower()}-{rule.name}) |" in text
        assert f"\n### {rule.code} {rule.name}\n" in text


def test_check_mode_reports_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "rules.md"
    stale.write_text("old\n")
    assert main([str(stale), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main([str(stale)]) == 0
    assert main([str(stale), "--check"]) == 0


def test_rule_table_groups_by_family_and_fits_the_width():
    table = rule_table(width=80)
    assert all(len(line) <= 80 for line in table.splitlines() if line.startswith("  NB"))
    assert "NB4xx" in table and "  NB007 [*] error-output" in table


def test_the_readme_counts_the_rules_there_are():
    import re

    readme = (CATALOGUE.parents[1] / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"(\d+) rules in seven families", readme)
    assert stated and int(stated.group(1)) == len(BUILTIN_RULES)
