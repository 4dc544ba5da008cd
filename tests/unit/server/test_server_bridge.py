"""How CLI exit codes and messages become HTTP answers, and how request paths are checked."""

from __future__ import annotations

import pytest

from nbprod.server.cli_bridge import CliFailure, CliResult, error_line, interpret, sanitize
from nbprod.server.paths import NotFound, check_run_id, resolve_output_path, resolve_request_path


def test_exit_codes_0_and_1_carry_the_json():
    assert interpret(CliResult(0, "[]", ""), root="/r", command="lint") == []
    assert interpret(CliResult(1, '[{"code": "NB001"}]', ""), root="/r", command="lint") == [
        {"code": "NB001"}
    ]


@pytest.mark.parametrize(
    ("code", "stderr", "status", "error"),
    [
        (2, "error: /srv/root/nb/a.ipynb: not a notebook\n", 400, "NbprodError"),
        (2, "Usage: nbprod lint\n\nError: No such option: --nope\n", 400, "NbprodError"),
        (3, "error: the kernel died while running cell 3\n", 500, "InfrastructureError"),
        (2, "Traceback (most recent call last):\n  x\nerror: a bug\n", 500, "InternalError"),
        (-15, "", 500, "InternalError"),
    ],
)
def test_other_exit_codes_become_http_errors(code, stderr, status, error):
    with pytest.raises(CliFailure) as caught:
        interpret(CliResult(code, "", stderr), root="/srv/root", command="lint")
    assert (caught.value.status, caught.value.error) == (status, error)
    assert "/srv/root" not in caught.value.message and "Traceback" not in caught.value.message


def test_output_that_is_not_json_is_a_500():
    with pytest.raises(CliFailure) as caught:
        interpret(CliResult(0, "not json", ""), root="/r", command="lint")
    assert caught.value.status == 500


def test_sanitize_makes_root_paths_relative_and_cuts_other_absolute_paths():
    text = "error: /srv/root/nb/a.ipynb and /etc/secret/key.pem, not a/b or 1/2"
    assert sanitize(text, "/srv/root") == "error: nb/a.ipynb and key.pem, not a/b or 1/2"
    assert error_line("warning\nerror: last one\n") == "last one"


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "root"
    (base / "nb").mkdir(parents=True)
    (base / "nb" / "a.ipynb").write_text("{}")
    (tmp_path / "outside.ipynb").write_text("{}")
    (base / "out.ipynb").symlink_to(tmp_path / "outside.ipynb")
    return base


def test_request_paths_inside_the_root_resolve(root):
    assert resolve_request_path(root, "nb/a.ipynb") == (root / "nb" / "a.ipynb").resolve()


@pytest.mark.parametrize(
    "text",
    ["../outside.ipynb", "out.ipynb", "/etc/passwd", "~/a.ipynb", "nb\\a.ipynb", "nb/%2e.ipynb",
     "C:/a.ipynb", "nb/a.ipynb\x00", ".hidden/a.ipynb", "nb/missing.ipynb", "nb", "nb/a.txt",
     None, 3, ""],
)
def test_refused_or_missing_paths_raise_the_same_not_found(root, text):
    with pytest.raises(NotFound):
        resolve_request_path(root, text)


def test_output_paths_may_be_new_but_not_the_source_nor_outside(root):
    source = resolve_request_path(root, "nb/a.ipynb")
    assert resolve_output_path(root, "nb/a.out.ipynb", source=source).name == "a.out.ipynb"
    for text in ("nb/a.ipynb", "../x.ipynb", "missing/x.ipynb", "out.ipynb"):
        with pytest.raises(NotFound):
            resolve_output_path(root, text, source=source)


def test_run_ids():
    assert check_run_id("20261122T125820Z-e7d603") == "20261122T125820Z-e7d603"
    for bad in ("..", "a/b", "-rf", "", "x" * 200, None):
        with pytest.raises(NotFound):
            check_run_id(bad)
