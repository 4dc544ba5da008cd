"""The nbprod routes answer with exactly the JSON the CLI prints, and map failures to statuses."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import nbformat
from notebook_builder import make_notebook

NOTEBOOK = "nb/sample.ipynb"


def cli_json(root, *args):
    """What ``nbprod ARGS --output-format json`` prints, run the way the server runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "nbprod", *args, "--output-format", "json"],
        cwd=root, capture_output=True, text=True, check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


async def wait_for_job(api, job_id, timeout=120):
    for _ in range(int(timeout * 10)):
        status, _, job = await api("jobs", job_id)
        assert status == 200
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


async def test_info_lists_the_commands_this_nbprod_has(api):
    status, headers, data = await api("")
    assert status == 200
    assert data["name"] == "nbprod"
    assert "lint" in data["commands"]


async def test_lint_returns_exactly_the_cli_json(api, server_root):
    status, headers, data = await api("lint", params={"path": NOTEBOOK})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert data == cli_json(server_root, "lint", NOTEBOOK)
    assert {(d["cell_id"], d["code"], d["rerun_blocker"]) for d in data} >= {
        ("c2", "F401", False)}  # `os` imported but unused


async def test_lint_files_says_whether_the_project_lints_a_notebook(api, server_root):
    (server_root / "nb" / "draft.ipynb").write_text(nbformat.writes(make_notebook("x = 1")))
    (server_root / "pyproject.toml").write_text('[tool.nbprod.lint]\nexclude = ["draft*"]\n')
    status, _, linted = await api("lint/files", params={"path": NOTEBOOK})
    assert status == 200 and linted == [NOTEBOOK]
    status, _, left_out = await api("lint/files", params={"path": "nb/draft.ipynb"})
    assert status == 200 and left_out == []
    assert left_out == cli_json(server_root, "lint", "nb/draft.ipynb", "--show-files")


async def test_lint_fix_rewrites_the_notebook_and_returns_what_is_left(api, server_root):
    path = server_root / "nb" / "fixable.ipynb"
    error = {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
             "traceback": []}
    path.write_text(nbformat.writes(make_notebook(
        "x = 1", {"source": "x / 0", "execution_count": 1, "outputs": [error]}, "y = 2")))
    status, _, before = await api("lint", params={"path": "nb/fixable.ipynb"})
    assert "NB007" in {d["code"] for d in before}
    status, _, left = await api("lint/fix", method="POST", body={"path": "nb/fixable.ipynb"})
    assert status == 200
    assert "NB007" not in {d["code"] for d in left}
    assert nbformat.read(path, as_version=4).cells[1].outputs == []


async def test_tag_suggestions_params_and_export_preview_match_the_cli(api, server_root):
    for route, args in (
        ("tags/suggest", ("tag", "--suggest", NOTEBOOK)),
        ("params", ("params", NOTEBOOK)),
        ("export", ("export", NOTEBOOK, "--dry-run")),
    ):
        status, _, data = await api(route, params={"path": NOTEBOOK})
        assert status == 200, data
        assert data == cli_json(server_root, *args)
    status, _, params = await api("params", params={"path": NOTEBOOK})
    assert [p["name"] for p in params["parameters"]] == ["lr", "epochs"]


async def test_export_preview_writes_nothing_then_write_then_check_is_up_to_date(api, server_root):
    before = sorted(p.relative_to(server_root) for p in server_root.rglob("*"))
    status, _, preview = await api("export", params={"path": NOTEBOOK})
    assert status == 200 and preview["written"] == 0
    assert sorted(p.relative_to(server_root) for p in server_root.rglob("*")) == before
    status, _, check = await api("export/check", params={"path": NOTEBOOK})
    assert status == 200 and check["out_of_date"] > 0  # exit 1 (out of date) is still 200

    status, _, written = await api("export", method="POST", body={"path": NOTEBOOK})
    assert status == 200
    assert written["written"] == len(preview["files"])
    status, _, check = await api("export/check", params={"path": NOTEBOOK})
    assert status == 200 and check["out_of_date"] == 0


async def test_a_cli_user_error_is_a_400_with_its_message_and_no_absolute_path(api, server_root):
    (server_root / "nb" / "broken.ipynb").write_text("{ not json")
    status, headers, data = await api("params", params={"path": "nb/broken.ipynb"})
    assert status == 400
    assert data["error"] == "NbprodError"
    assert "broken.ipynb" in data["message"]
    assert str(server_root) not in data["message"] and "Traceback" not in data["message"]
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_a_missing_cli_command_is_a_501(api, monkeypatch):
    from nbprod.cli import COMMANDS

    monkeypatch.delitem(COMMANDS, "export")
    status, _, data = await api("export", params={"path": NOTEBOOK})
    assert status == 501 and data["error"] == "NotAvailable"
    status, _, info = await api("")
    assert "export" not in info["commands"]


async def test_a_command_over_its_time_limit_is_a_504(api, jp_web_app):
    jp_web_app.settings["nbprod"].timeout = 0.01
    status, _, data = await api("lint", params={"path": NOTEBOOK})
    assert status == 504 and data["error"] == "Timeout"


async def test_run_with_a_parameter_then_list_show_and_diff_its_runs(api, server_root):
    (server_root / "pyproject.toml").write_text("[tool.nbprod]\n")
    status, _, job = await api(
        "run", method="POST",
        body={"path": NOTEBOOK, "parameters": {"epochs": 7}, "output": "nb/sample.out.ipynb"},
    )
    assert status == 202, job
    assert job["state"] == "running" and job["kind"] == "run"
    first = await wait_for_job(api, job["job_id"])
    assert first["state"] == "succeeded", first
    assert first["result"]["parameters"] == {"epochs": 7}
    assert first["output_path"] == "nb/sample.out.ipynb"
    output = nbformat.read(server_root / "nb" / "sample.out.ipynb", as_version=4)
    assert "14" in json.dumps(output.cells[-2].outputs)  # print(double(epochs))

    status, _, job = await api("run", method="POST", body={"path": NOTEBOOK,
                                                            "parameters": {"epochs": "2"}})
    second = await wait_for_job(api, job["job_id"])
    assert second["state"] == "succeeded"
    a, b = first["result"]["run_id"], second["result"]["run_id"]

    status, _, runs = await api("runs", params={"path": NOTEBOOK})
    assert status == 200
    assert {r["run_id"] for r in runs} == {a, b}
    status, _, shown = await api("runs", a, params={"path": NOTEBOOK})
    assert status == 200 and shown["run_id"] == a
    status, _, diff = await api("runs/diff", params={"path": NOTEBOOK, "a": a, "b": b})
    assert status == 200
    assert diff["parameters"]["changed"]["epochs"] == [7, 2] or "epochs" in json.dumps(
        diff["parameters"]
    )
    status, _, missing = await api("runs", "20000101T000000Z-000000", params={"path": NOTEBOOK})
    assert status == 404 and "20000101T000000Z-000000" in missing["message"]

    status, _, report = await api("runs", f"{a}/report", params={"path": NOTEBOOK})
    assert status == 200
    assert report["run_ids"] == [a] and report["title"] == f"nbprod run {a}"
    assert report["html"].startswith("<!DOCTYPE html>") and "epochs" in report["html"]
    status, _, missing = await api("runs", "20000101T000000Z-000000/report",
                                   params={"path": NOTEBOOK})
    assert status == 404 and "20000101T000000Z-000000" in missing["message"]


async def test_a_failed_run_job_says_which_cell_raised_what(api, server_root):
    (server_root / "nb" / "boom.ipynb").write_text(nbformat.writes(make_notebook(
        "x = 1", "raise ValueError(f'boom {x}')")))
    status, _, job = await api("run", method="POST", body={"path": "nb/boom.ipynb"})
    assert status == 202
    done = await wait_for_job(api, job["job_id"])
    assert done["state"] == "failed" and done["exit_code"] == 1
    assert done["error"]["message"] == "cell 2 (id 'c2') raised ValueError: boom 1"
    assert done["result"]["status"] == "failed"


async def test_a_run_with_a_bad_parameter_ends_as_an_error_job(api):
    status, _, job = await api("run", method="POST",
                               body={"path": NOTEBOOK, "parameters": {"epochs": "many"}})
    assert status == 202
    done = await wait_for_job(api, job["job_id"])
    assert done["state"] == "error"
    assert done["exit_code"] == 2
    assert "epochs" in done["error"]["message"]


async def test_cancel_stops_the_run_and_its_process_group(api, server_root, jp_web_app):
    (server_root / "nb" / "slow.ipynb").write_text(
        nbformat.writes(make_notebook("import time\ntime.sleep(120)"))
    )
    status, _, job = await api("run", method="POST", body={"path": "nb/slow.ipynb"})
    assert status == 202
    group = jp_web_app.settings["nbprod"].jobs.get(job["job_id"]).process.pid
    await asyncio.sleep(3.0)  # let papermill start its kernel inside the group
    status, _, cancelled = await api("jobs", job["job_id"], method="DELETE")
    assert status == 200 and cancelled["cancel_requested"] is True
    done = await wait_for_job(api, job["job_id"], timeout=60)
    assert done["state"] == "cancelled"
    assert done["exit_code"] is not None
    for _ in range(100):  # the kernel may take a moment to follow its parent
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.1)
    else:
        os.killpg(group, signal.SIGKILL)
        raise AssertionError("processes of the cancelled run were still alive after 10 s")


async def test_too_many_running_jobs_is_a_429(api, jp_web_app):
    jp_web_app.settings["nbprod"].jobs.max_running = 0
    status, _, data = await api("run", method="POST", body={"path": NOTEBOOK})
    assert status == 429 and data["error"] == "Busy"


async def test_an_unknown_job_is_a_404(api):
    status, _, data = await api("jobs", "0123456789abcdef")
    assert status == 404 and data == {"error": "NotFound", "message": "no such job on this server"}


async def test_pipeline_status_then_run_as_a_job_then_every_step_is_cached(api, server_root):
    (server_root / "nb" / "steps.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "n: int = 3", "tags": ["parameters"]},
        {"source": "data = list(range(n))", "tags": ["step:prepare"]},
        {"source": "total = sum(data)\nprint(total)", "tags": ["step:train"]},
    )))
    status, _, steps = await api("pipeline", params={"path": "nb/steps.ipynb"})
    assert status == 200
    assert steps == cli_json(server_root, "pipeline", "status", "nb/steps.ipynb")
    assert [(s["name"], s["cached"]) for s in steps] == [("prepare", False), ("train", False)]

    status, _, job = await api("pipeline/run", method="POST", body={"path": "nb/steps.ipynb"})
    assert status == 202 and job["kind"] == "pipeline"
    done = await wait_for_job(api, job["job_id"])
    assert done["state"] == "succeeded", done
    assert [s["status"] for s in done["result"]["steps"]] == ["succeeded", "succeeded"]
    status, _, steps = await api("pipeline", params={"path": "nb/steps.ipynb"})
    assert all(s["cached"] for s in steps)


async def test_a_failed_pipeline_job_names_the_step_and_its_error(api, server_root):
    (server_root / "nb" / "broken_steps.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "data = [1, 2]", "tags": ["step:prepare"]},
        {"source": "total = sum(data) / 0", "tags": ["step:train"]},
    )))
    status, _, job = await api("pipeline/run", method="POST",
                               body={"path": "nb/broken_steps.ipynb"})
    assert status == 202
    done = await wait_for_job(api, job["job_id"])
    assert done["state"] == "failed", done
    assert done["error"]["message"].startswith("step 'train' failed: ZeroDivisionError"), done
