"""Golden files: the module, tests and pipeline generated from fixture notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nbprod.export import ExportConfig, export
from nbprod.export.suggest import apply_suggestions, suggest_tags
from nbprod.notebook import load

NOTEBOOKS = Path(__file__).parents[2] / "data" / "notebooks" / "export"
EXPECTED = {
    "nbdev_core": ["core.py", "tests/test_core.py"],
    "kale_pipeline": ["kale_pipeline.py", "tests/test_kale_pipeline.py",
                      "kale_pipeline_pipeline.py", "kale_pipeline_pipeline.json"],
    "untagged": ["untagged.py", "tests/test_untagged.py", "untagged_pipeline.py",
                 "untagged_pipeline.json"],
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_generated_files_match_golden(scenario, golden):
    nb = load(NOTEBOOKS / f"{scenario}.ipynb")
    if scenario == "untagged":
        suggestions = suggest_tags(nb)
        golden(f"expected/export/{scenario}/suggestions.json",
               json.dumps([s.to_dict() for s in suggestions], indent=2) + "\n")
        apply_suggestions(nb, suggestions)
    artifacts = export(nb, ExportConfig(), root=NOTEBOOKS)
    assert [str(a.path) for a in artifacts] == EXPECTED[scenario]
    for artifact in artifacts:
        golden(f"expected/export/{scenario}/{artifact.path}", _stable(artifact.text))


def _stable(text: str) -> str:
    """Hide the inputs fingerprint: it covers nbprod's own source, which golden files must not
    pin (its behaviour is tested in test_export_fingerprint.py)."""
    text = re.sub(r" inputs:[0-9a-f]{32}\n", " inputs:<fingerprint>\n", text, count=1)
    return re.sub(r'"inputs": "[0-9a-f]{32}"', '"inputs": "<fingerprint>"', text, count=1)
