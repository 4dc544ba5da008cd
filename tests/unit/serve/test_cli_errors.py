"""User errors of the serving commands: one line naming what is wrong and what to do, exit
2, nothing written, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nbprod.cli import cli
from nbprod.store import Store

SERVE = {"source": "def predict(model, rows):\n    return rows.iloc[:, 0]\n", "tags": ["serve"]}


def _files(root):
    # SQLite's shared-memory and write-ahead files come and go with any open connection.
    return sorted(p for p in root.rglob("*") if not p.name.endswith(("-shm", "-wal")))


def _fail(tmp_path, monkeypatch, *args) -> None:
    monkeypatch.chdir(tmp_path)
    before = _files(tmp_path)
    with pytest.raises(SystemExit) as caught:
        cli.main([str(a) for a in args])
    assert caught.value.code == 2
    assert _files(tmp_path) == before  # nothing written


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    if lines[0].startswith("Usage:"):  # click's usage errors: usage, a hint, the error
        lines = lines[2:]
    assert len(lines) == 1 and lines[0].startswith(("error: ", "Error: ")), err
    return lines[0]


@pytest.fixture
def project(tmp_path, notebook_factory):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    notebook_factory("plain.ipynb", {"source": "x = 1", "tags": ["export"]})
    notebook_factory("served.ipynb", {"source": "import pandas as pd", "tags": ["export"]},
                     SERVE)
    # predict reads `scale`, which only an untagged cell sets: the export leaves it out.
    notebook_factory("left.ipynb", "scale = 2",
                     {"source": "def predict(model, rows):\n    return rows * scale\n",
                      "tags": ["serve"]})
    Store.open(tmp_path).close()
    return tmp_path


@pytest.mark.parametrize(("args", "expected"), [
    (["serve", "plain.ipynb"], "no cell is tagged serve"),
    (["serve", "left.ipynb"], "no service, its serve cell is left out of the export:"
                              " left.ipynb cell 2"),
    (["serve", "served.ipynb"], "missing or out of date; run nbprod export served.ipynb first"),
    (["models", "show", "wine@champion"], "no alias 'wine@champion'"),
    (["models", "alias", "wine", "RUN"], "is not an alias; write NAME@LABEL"),
    (["drift", "nosuchrun", "x.csv"], "no run 'nosuchrun'"),
    (["export", "served.ipynb", "--model", "wine"], "--model and --run go with --to service"),
])
def test_one_line_exit_2_nothing_written(project, monkeypatch, capsys, args, expected):
    _fail(project, monkeypatch, *args)
    assert expected in _error(capsys)


def test_a_run_without_a_model(project, monkeypatch, capsys):
    store = Store.open(project)
    handle = store.begin_run("served.ipynb", "blake3:" + "0" * 64, {})
    store.finish_run(handle.run_id, {"status": "succeeded"})
    store.close()
    _fail(project, monkeypatch, "models", "alias", "m@x", handle.run_id)
    assert "recorded no model; call nbprod.record_model" in _error(capsys)


def test_help_of_the_new_commands():
    runner = CliRunner()
    for args, text in ((["serve", "--help"], "127.0.0.1"), (["drift", "--help"], "PSI"),
                       (["models", "--help"], "alias"),
                       (["export", "--help"], "--to [service]")):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0 and text in result.output, result.output


def test_a_port_in_use_is_one_line_not_uvicorns_exit():
    import socket

    from nbprod.cli.serve import _check_free
    from nbprod.errors import ConfigError

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            _check_free("127.0.0.1", port)
    _check_free("127.0.0.1", port)  # free again once closed


def test_an_export_that_leaves_the_serve_cell_out_writes_no_service(project, monkeypatch,
                                                                     capsys):
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as caught:
        cli.main(["export", "left.ipynb"])
    assert caught.value.code == 0
    assert "left out: left.ipynb cell 2" in capsys.readouterr().err
    assert not list(project.rglob("*_service.py"))
