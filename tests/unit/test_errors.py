"""The error tree: exit codes per class and the JSON shape shared by the CLI and the server."""

from __future__ import annotations

import pytest

from nbprod import errors


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (errors.NbprodError, 2),
        (errors.ConfigError, 2),
        (errors.NotebookError, 2),
        (errors.PathError, 2),
        (errors.ExportError, 2),
        (errors.ExecutionError, 1),
        (errors.InfrastructureError, 3),
    ],
)
def test_exit_codes(cls, code):
    assert cls.exit_code == code
    assert issubclass(cls, errors.NbprodError)


def test_execution_error_carries_the_cell():
    exc = errors.ExecutionError("cell 3 raised", cell=3, cell_id="abc", ename="ValueError",
                                evalue="bad")
    assert exc.to_dict() == {
        "error": "ExecutionError", "message": "cell 3 raised", "cell": 3, "cell_id": "abc",
        "ename": "ValueError", "evalue": "bad",
    }


def test_missing_dependency_names_the_extra():
    exc = errors.MissingDependencyError("papermill", "run", "nbprod run")
    assert "pip install 'nbprod[run]'" in str(exc)
