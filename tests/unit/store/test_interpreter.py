"""What a run needed: the distributions behind the modules its kernel imported, with their
requirements; and the interpreter facts a lock needs (wheel tags, an index without secrets)."""

from __future__ import annotations

import json
import subprocess
import sys

from nbprod.store import interpreter
from nbprod.store.environment import index_url, strip_credentials
from nbprod.store.interpreter import describe, needed_distributions

DESCRIPTION = {
    "packages": {"pandas": "2.2.2", "numpy": "1.26.4", "python-dateutil": "2.9",
                 "six": "1.16", "pytest": "8.0", "tomli": "2.0", "pyarrow": "15.0",
                 "my-project": "0.1"},
    "_modules": {"pandas": ["pandas"], "numpy": ["numpy"], "dateutil": ["python-dateutil"],
                 "six": ["six"], "pytest": ["pytest"], "pyarrow": ["pyarrow"]},
    "_requires": {
        "pandas": ["numpy>=1.22", "python-dateutil>=2.8.2", "pyarrow>=10; extra == 'pyarrow'",
                   "tzdata>=2022.1"],
        "python-dateutil": ["six>=1.5"],
        "pytest": ["tomli>=1; python_version < '3.11'"],
    },
}


def test_needed_follows_requirements_but_not_extras_nor_missing_ones():
    assert needed_distributions(["pandas", "json", "os"], DESCRIPTION) == [
        "numpy", "pandas", "python-dateutil", "six"]


def test_an_imported_extra_counts_and_editable_projects_match_by_name():
    assert needed_distributions(["pyarrow", "my_project"], DESCRIPTION) == [
        "my-project", "pyarrow"]


def test_describe_runs_as_a_script_in_another_interpreter():
    done = subprocess.run([sys.executable, "-I", interpreter.__file__], capture_output=True,
                          check=True)
    info = json.loads(done.stdout)
    here = describe()
    assert info["packages"] == here["packages"]
    assert info["tags"] == here["tags"]
    assert here["tags"]["interpreter"].startswith(("cp3", "pp3"))
    assert "ipykernel" in info["_modules"]["ipykernel"]


def test_index_url_is_recorded_without_credentials(monkeypatch):
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    assert index_url() == "https://pypi.org/simple"
    monkeypatch.setenv("PIP_INDEX_URL", "https://ana:s3cret@pkgs.example/simple")
    assert index_url() == "https://pkgs.example/simple"
    assert strip_credentials("https://token@host/x") == "https://host/x"
    assert strip_credentials("https://host/x") == "https://host/x"


def test_requirements_read_as_text_equal_the_metadata_parsers():
    import importlib.metadata

    from nbprod.store.interpreter import _requirements

    for dist in importlib.metadata.distributions():
        assert sorted(_requirements(dist)) == sorted(dist.requires or []), dist.metadata["Name"]
