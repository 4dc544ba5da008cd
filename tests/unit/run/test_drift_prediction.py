"""``reproduce --upgrade`` names the API-drift rule that flagged the cell that broke."""

from __future__ import annotations

from pathlib import Path

import nbformat
from notebook_builder import make_notebook

from nbprod.run.drift import drift_findings

SOURCE = nbformat.writes(make_notebook(
    "import pandas as pd\nframe = pd.DataFrame({'a': [1]})",
    {"cell_type": "markdown", "source": "Add a row"},
    "frame = frame.append({'a': 2}, ignore_index=True)",
)).encode()


def test_the_drift_finding_of_the_failing_cell_is_reported():
    found = drift_findings(SOURCE, Path("nb.ipynb"), 3)
    assert [(f["code"], f["name"], f["cell"]) for f in found] == [
        ("NB505", "dataframe-append", 3)]
    assert "pd.concat" in found[0]["message"]


def test_a_cell_no_rule_flagged_has_no_prediction():
    assert drift_findings(SOURCE, Path("nb.ipynb"), 1) == []
