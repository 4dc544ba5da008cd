"""Receipt assembly, status classification, redaction, records and the access log (no kernel)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
from notebook_builder import make_notebook

from nbprod.run import record as record_mod
from nbprod.run.capture import read_access_log, setup_source
from nbprod.run.execute import (
    CellRun,
    error_for,
    exit_code_for,
    is_clean_exit,
    redacting,
)
from nbprod.run.masking import SecretMasker, environment_secrets
from nbprod.run.receipt import SCHEMA_VERSION, build_receipt


def _cells():
    return [CellRun(1, 1, "c1", "succeeded", "t0", 0.1, 1),
            CellRun(2, None, "injected-parameters", "succeeded", "t1", 0.0, 2, injected=True),
            CellRun(3, 2, "c2", "failed", "t2", 0.2, 3),
            CellRun(4, 3, "c3")]


def test_build_receipt_schema_and_scrubbing():
    error = error_for("failed", _cells()[2], ename="ValueError", evalue="token s3cr3t-value",
                      traceback="\x1b[31mValueError\x1b[0m: token s3cr3t-value")
    receipt = build_receipt(
        run_id="r1", status="failed", notebook={"path": "nb.ipynb", "hash": "blake3:x"},
        parameters={"api_token": "***", "lr": 0.1}, kind="run", parent=None, kernel="python3",
        start="s", end="e", duration_s=1.23456789, cells=_cells(), environment={"python": "3"},
        data=[], records={"leak": "s3cr3t-value", "score": 1}, error=error,
        objects=["b", "a", "a"], masker=SecretMasker(["s3cr3t-value"]),
    )
    assert receipt["schema"] == SCHEMA_VERSION
    assert receipt["timing"]["duration_s"] == 1.234568
    assert [c["status"] for c in receipt["timing"]["cells"]] == [
        "succeeded", "succeeded", "failed", "not_run"]
    assert receipt["timing"]["cells"][1]["injected"] is True
    assert "injected" not in receipt["timing"]["cells"][0]
    assert receipt["objects"] == ["a", "b"]
    text = json.dumps(receipt)
    assert "s3cr3t-value" not in text
    assert receipt["error"]["traceback"] == "ValueError: token ***"  # ANSI codes removed
    assert receipt["error"]["cell"] == 2 and receipt["error"]["cell_id"] == "c2"
    assert receipt["masked"] == 1


@pytest.mark.parametrize(
    ("status", "kwargs", "message"),
    [
        ("failed", {"ename": "KeyError", "evalue": "'x'"}, "cell 2 (id 'c2') raised KeyError: 'x'"),
        ("incomplete", {"not_run": 3}, "cell 2 (id 'c2') called sys.exit; 3 cells not run"),
        ("kernel_died", {}, "the kernel died while running cell 2 (id 'c2')"),
        ("timeout", {"timeout": 2.5}, "cell 2 (id 'c2') did not finish within 2.5 s"),
        ("interrupted", {}, "the run was interrupted while running cell 2 (id 'c2')"),
    ],
)
def test_error_messages_name_the_cell(status, kwargs, message):
    error = error_for(status, _cells()[2], **kwargs)
    assert error["message"] == message
    assert error["ename"]
    if status == "incomplete":
        assert error["not_run"] == 3


def test_error_before_first_cell_and_success():
    assert error_for("succeeded", None) is None
    assert error_for("kernel_died", None)["message"].endswith("before the first cell")
    # Stopped between cells, e.g. as the kernel was shut down after the last one.
    last = _cells()[2]
    assert error_for("interrupted", None, finished=last)["message"] == (
        f"the run was interrupted after {last.label} finished")
    assert error_for("interrupted", None)["message"] == (
        "the run was interrupted before the first cell")


def test_exit_codes_and_clean_exit():
    assert [exit_code_for(s) for s in ("succeeded", "failed", "incomplete", "kernel_died",
                                       "timeout", "interrupted")] == [0, 1, 1, 3, 3, 3]
    assert is_clean_exit("SystemExit", "0") and is_clean_exit("SystemExit", "")
    assert not is_clean_exit("SystemExit", "2") and not is_clean_exit("ValueError", "0")


def test_redacting_hides_secrets_in_injected_cell_and_outputs():
    nb = make_notebook("x", {"source": "api_token = 'hunter22'", "tags": ["injected-parameters"]},
                       {"source": "print(api_token)", "outputs": [
                           {"output_type": "stream", "name": "stdout", "text": "hunter22\n"},
                           {"output_type": "execute_result", "execution_count": 1,
                            "data": {"text/plain": ["'hunter22'"]}, "metadata": {}}]})
    redact = redacting(SecretMasker(["hunter22"]), 1, "api_token = '***'\n")
    clean = redact(nb)
    assert "hunter22" not in json.dumps(clean)
    assert "hunter22" in json.dumps(nb)  # the executing notebook keeps the real value
    plain = make_notebook({"source": "print(1)", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "1\n"}]})
    assert redacting(SecretMasker(), None, None)(plain) is plain  # nothing to hide: no copy


def test_redacting_masks_what_the_lint_detectors_recognise():
    png = "iVBORw0KGgoAAAANSUhEUgAKIAIOSFODNN7EXAMPLE"  # base64 is never scanned
    nb = make_notebook({"source": "leak()", "outputs": [
        {"output_type": "stream", "name": "stdout",
         "text": "key AKIAIOSFODNN7EXAMPLE url postgresql://ana:s3cret-pw@db/x\n"},
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": ["<b>ghp_1234567890abcdefghijklmnopqrstuvwxyz</b>"],
                  "image/png": png}},
        {"output_type": "error", "ename": "ValueError",
         "evalue": "bad token xoxb-123456789012-abcdefghij",
         "traceback": ["ValueError: bad token xoxb-123456789012-abcdefghij"]}]})
    masker = SecretMasker()
    clean = json.dumps(redacting(masker, None, None)(nb))
    for value in ("AKIAIOSFODNN7EXAMPLE", "s3cret-pw", "ghp_1234567890abcdefghijklmnopqrstuvwxyz",
                  "xoxb-123456789012-abcdefghij"):
        assert value not in clean.replace(png, ""), value
    assert png in clean
    assert "postgresql://ana:***@db/x" in clean
    assert masker.count == 4


def test_environment_secrets_are_the_secret_named_values():
    environ = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG", "GITHUB_TOKEN": "1",
               "HOME": "/home/ana", "DB_PASSWORD": "hunter22", "MAX_TOKENS": "123456"}
    assert sorted(environment_secrets(environ)) == ["hunter22", "wJalrXUtnFEMI/K7MDENG"]


def test_record_outside_a_run_warns_once(monkeypatch):
    monkeypatch.delenv(record_mod.RECORDS_ENV, raising=False)
    monkeypatch.setattr(record_mod, "_warned", False)
    with pytest.warns(UserWarning, match="not inside an nbprod run"):
        record_mod.record("a", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record_mod.record("a", 2)  # second call: silent


def test_record_inside_a_run(monkeypatch, tmp_path):
    target = tmp_path / "records.jsonl"
    monkeypatch.setenv(record_mod.RECORDS_ENV, str(target))
    record_mod.record("score", 0.5)
    record_mod.record("score", 0.75)
    record_mod.record("table", {"a": [1, 2], "b": None})
    with pytest.raises(TypeError, match="not JSON data"):
        record_mod.record("bad", object())
    with pytest.raises(TypeError, match="non-empty text"):
        record_mod.record("", 1)
    with target.open("a") as handle:
        handle.write('{"name": "cut')  # a kernel died mid-write
    assert record_mod.read_records(target) == {"score": 0.75, "table": {"a": [1, 2], "b": None}}
    assert record_mod.read_records(tmp_path / "none.jsonl") == {}


def test_setup_source_logs_reads_and_writes_under_the_project(tmp_path):
    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    (project / "data" / "in.csv").write_text("a\n1\n", encoding="utf-8")
    store = project / ".nbprod"
    (store / "runs" / "r1").mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("x", encoding="utf-8")
    log = store / "runs" / "r1" / "access.jsonl"
    code = setup_source(project_root=project, store_path=store, access_log=log,
                        records=store / "runs" / "r1" / "records.jsonl", run_id="r1")
    compile(code, "<setup>", "exec")
    script = code + (
        "import os\n"
        "open('data/in.csv').read()\n"
        "open('data/in.csv', 'rb').read()\n"
        "try:\n    open('data/nothere.csv')\nexcept FileNotFoundError:\n    pass\n"
        "open('data/out.txt', 'w').write('y')\n"
        "os.close(os.open('data/raw.bin', os.O_WRONLY | os.O_CREAT))\n"
        f"open({str(outside)!r}).read()\n"
        f"open({str(store / 'runs' / 'r1' / 'records.jsonl')!r}, 'a').write('')\n"
        "open('helper.py', 'w').write('')\n"
        "print(os.environ['NBPROD_RECORDS_FILE'].endswith('records.jsonl'),"
        " os.environ['NBPROD_RUN_ID'])\n"
        "print('_nbprod_setup' in globals())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["True", "r1", "False"]
    accesses = {a.path.relative_to(project).as_posix(): (a.written, a.existed)
                for a in read_access_log(log)}
    assert accesses == {"data/in.csv": (False, True), "data/nothere.csv": (False, False),
                        "data/out.txt": (True, True), "data/raw.bin": (True, True)}


def test_access_log_merges_and_survives_a_cut_line(tmp_path):
    log = tmp_path / "access.jsonl"
    log.write_text(
        '{"path": "/p/a.csv", "write": false}\n{"path": "/p/a.csv", "write": true}\n'
        '{"path": "/p/b.csv", "write": false}\n{"path": "/p/c', encoding="utf-8")
    result = [(a.path.as_posix(), a.written, a.existed) for a in read_access_log(log)]
    assert result == [("/p/a.csv", True, True), ("/p/b.csv", False, False)]
    assert read_access_log(tmp_path / "missing.jsonl") == []
