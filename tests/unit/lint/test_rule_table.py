"""The table of built-in rules (``nbprod.lint.rule_table``) says what the rule classes say,
and a lint served from the cache does not import the rules."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
from notebook_builder import make_notebook

from nbprod.lint.checker import default_off_codes, known_codes
from nbprod.lint.rule_table import BUILTIN, PLUGIN_GROUP
from nbprod.lint.rules import BUILTIN_RULES, rule_registry


def test_the_table_matches_the_rule_classes():
    assert BUILTIN == {rule.code: (rule.name, rule.default) for rule in BUILTIN_RULES}
    assert rule_registry.group == PLUGIN_GROUP
    assert known_codes() == rule_registry.names()  # no plug-in installed here
    assert {code for code, (_name, on) in BUILTIN.items() if not on} <= default_off_codes()


def test_a_lint_served_from_the_cache_imports_no_rule(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "nb.ipynb").write_text(nbformat.writes(make_notebook("print(late)", "late = 1")))
    env = {**os.environ, "NBPROD_CACHE_DIR": str(tmp_path / "cache"),
           "NBPROD_CEILING_DIRECTORIES": str(project)}
    lint = ("import sys\nimport nbprod.lint.cache\nfrom nbprod.cli import main\n"
            "nbprod.lint.cache.RACY_SECONDS = 0  # the notebook was written just now\n"
            "sys.argv = ['nbprod', 'lint', 'nb.ipynb']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('rules imported:', 'nbprod.lint.rules' in sys.modules, file=sys.stderr)\n")
    runs = [subprocess.run([sys.executable, "-c", lint], cwd=project, env=env,
                           capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert "NB004" in runs[0].stdout and runs[1].stdout == runs[0].stdout
    assert "rules imported: True" in runs[0].stderr  # the first lint ran them
    assert "rules imported: False" in runs[1].stderr  # the second came from the cache
