"""Data profiles and turning the access log into receipt entries with a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notebook_builder import make_notebook

from nbprod.run.capture import Access, capture_data
from nbprod.run.profile import UNIQUE_CAP, profile_csv, profile_file, profile_parquet
from nbprod.store import Store


def test_profile_csv_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,price,city,empty\n1,2.5,Paris,\n2,,Oslo,\n3,4.5,Paris,\n-4,1e1,,NA\n",
                    encoding="utf-8")
    profile = profile_csv(path, max_bytes=10**6)
    assert profile["rows"] == 4 and not profile["sampled"]
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["id"] == {"name": "id", "dtype": "int", "count": 4, "nulls": 0, "unique": 4,
                             "min": -4, "max": 3, "mean": 0.5}
    assert columns["price"]["dtype"] == "float" and columns["price"]["nulls"] == 1
    assert columns["price"]["max"] == 10.0 and columns["price"]["mean"] == pytest.approx(17 / 3)
    assert columns["city"] == {"name": "city", "dtype": "str", "count": 4, "nulls": 1,
                               "unique": 2}
    assert columns["empty"]["nulls"] == 4 and columns["empty"]["dtype"] == "str"


def test_profile_csv_caps_distinct_and_samples_large_files(tmp_path):
    path = tmp_path / "big.tsv"
    path.write_text("k\tv\n" + "".join(f"{i}\tx\n" for i in range(UNIQUE_CAP + 500)),
                    encoding="utf-8")
    full = profile_file(path, max_bytes=10**7)
    assert full["columns"][0]["unique"] is None
    assert full["columns"][0]["unique_over"] == UNIQUE_CAP
    assert full["columns"][1]["unique"] == 1
    sampled = profile_file(path, max_bytes=100)
    assert sampled["sampled"] and 0 < sampled["rows"] < UNIQUE_CAP
    assert profile_file(tmp_path / "notes.txt", max_bytes=100) is None


def test_profile_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 5, None], "b": ["x", "y", "z"]}), path)
    profile = profile_parquet(path)
    assert profile["rows"] == 3 and profile["format"] == "parquet"
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["a"] == {"name": "a", "dtype": "int64", "nulls": 1, "min": 1, "max": 5}
    assert columns["b"]["min"] == "x"


def test_capture_data_hashes_inputs_and_stores_small_outputs(tmp_path):
    store = Store.open(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.csv").write_text("a\n1\n2\n", encoding="utf-8")
    (data / "small.txt").write_text("small", encoding="utf-8")
    (data / "large.bin").write_bytes(b"x" * 2000)
    accesses = [Access(data / "in.csv", False), Access(data / "small.txt", True),
                Access(data / "large.bin", True), Access(data / "gone.csv", False),
                Access(data / "temp.txt", True), Access(Path("/elsewhere/x.csv"), False),
                Access(data / "never.csv", False, existed=False)]
    entries, stored = capture_data(accesses, store, tmp_path, copy_inputs=False,
                                   copy_outputs_max_bytes=1000, profile_max_bytes=10**6)
    by_path = {e["path"]: e for e in entries}
    assert set(by_path) == {"data/in.csv", "data/small.txt", "data/large.bin", "data/gone.csv",
                            "data/never.csv"}
    assert by_path["data/in.csv"]["hash"] == store.hash_file(data / "in.csv")[0]
    assert by_path["data/in.csv"]["stored"] is False
    assert by_path["data/in.csv"]["profile"]["rows"] == 2
    assert by_path["data/small.txt"]["stored"] is True
    assert stored == [by_path["data/small.txt"]["hash"]]
    assert store.objects.exists(by_path["data/small.txt"]["hash"])
    assert by_path["data/large.bin"]["stored"] is False
    assert by_path["data/large.bin"]["bytes"] == 2000
    assert "hash" not in by_path["data/gone.csv"]
    assert by_path["data/gone.csv"]["error"] == "no longer exists after the run"
    # A read that failed because the file was missing is not a file that disappeared.
    assert by_path["data/never.csv"]["error"] == "did not exist when the notebook opened it"
    entries, stored = capture_data(accesses[:1], store, tmp_path, copy_inputs=True,
                                   copy_outputs_max_bytes=0, profile_max_bytes=10**6)
    assert entries[0]["stored"] is True and stored == [entries[0]["hash"]]


def test_cli_params_json_and_text(notebook_factory, run_cli):
    path = notebook_factory("nb.ipynb", {"source": "lr: float = 0.1  # rate\nseed: int",
                                         "tags": ["parameters"]})
    result = run_cli("params", path, "--output-format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["cell"] == 1 and data["cell_id"] == "c1"
    assert data["parameters"][1] == {"name": "seed", "type": "int", "default": None,
                                     "default_source": None, "help": None, "required": True,
                                     "choices": None}
    text = run_cli("params", path)
    assert "lr" in text.output and "(required)" in text.output and "rate" in text.output


def _bad_runs(path: Path):
    yaml_file = path.parent / "params.yaml"
    yaml_file.write_text("lr: fast\n", encoding="utf-8")
    return [
        (["run", path, "-f", yaml_file], "parameter 'lr' expects float, got 'fast'"),
        (["run", path, "-p", "lr", "fast"], "parameter 'lr' expects float"),
        (["run", path, "-p", "lrr", "1"], "did you mean 'lr'"),
        (["run", path, "-p", "lr", "1", "--output", path], "is the input notebook"),
        (["run", path, "--output", path.parent / "other.ipynb"], "is a source notebook"),
        (["run", path, "--kernel", "no-such-kernel"], "no Jupyter kernel named 'no-such-kernel'"),
        (["run", path, "--cwd", path.parent / "missing"], "no such folder"),
        (["run", path.parent / "absent.ipynb"], "no such file"),
    ]


def test_cli_run_refuses_bad_input_without_writing(notebook_factory, run_cli, tmp_path):
    path = notebook_factory("nb.ipynb", {"source": "lr: float = 0.1", "tags": ["parameters"]})
    notebook_factory("other.ipynb", "print(1)")
    before = path.read_bytes()
    for args, message in _bad_runs(path):
        result = run_cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
    assert path.read_bytes() == before
    assert not (tmp_path / ".nbprod").exists()


def test_notebook_without_kernelspec_uses_python3(tmp_path):
    from nbprod.run.execute import resolve_kernel

    node = make_notebook("x", metadata={})
    assert resolve_kernel(node, None) == ("python3", "python")


@pytest.mark.parametrize(
    ("kernelspec", "advice"),
    [
        # An old Python notebook: ipykernel can register this Python under that name.
        ({"name": "python2", "language": "python"},
         "pass --kernel NAME or install it with python -m ipykernel install --user --name"
         " python2"),
        # Another language: ipykernel cannot help.
        ({"name": "dyalog-kernel", "language": "APL"},
         "pass --kernel NAME or install the APL kernel 'dyalog-kernel'"),
    ],
)
def test_a_missing_kernel_gets_advice_for_its_language(kernelspec, advice):
    from nbprod.errors import ConfigError
    from nbprod.run.execute import resolve_kernel

    node = make_notebook("x", metadata={"kernelspec": {**kernelspec, "display_name": "old"}})
    with pytest.raises(ConfigError) as raised:
        resolve_kernel(node, None)
    message = str(raised.value)
    assert message.startswith(f"no Jupyter kernel named {kernelspec['name']!r} is installed")
    assert message.endswith(advice)


def test_atomic_write_without_fsync_for_intermediate_saves(tmp_path, monkeypatch):
    from nbprod import fsutil

    def no_fsync(fd):
        raise AssertionError("fsync called for a non-durable write")

    monkeypatch.setattr(fsutil.os, "fsync", no_fsync)
    target = tmp_path / "out.ipynb"
    fsutil.atomic_write(target, "{}", durable=False)
    assert target.read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ipynb"]
    with pytest.raises(AssertionError, match="fsync called"):
        fsutil.atomic_write(target, "{}")
