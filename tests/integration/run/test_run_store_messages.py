"""What the run store's commands say about real runs: reproduce mismatches, filters that
match nothing, where the store is, and runs that cannot be reproduced or were killed."""

from __future__ import annotations

import json

from tests.integration.run.runhelpers import write_notebook


def _run(run_cli, project, name: str, *cells, args=()) -> str:
    path = write_notebook(project, name, *cells)
    result = run_cli("run", path, *args, "--output-format", "json", cwd=project)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["run_id"]


def test_reproduce_quotes_the_outputs_where_they_first_differ(project, run_cli):
    rows = project / "rows.txt"
    rows.write_text("".join(f"row {i}\n" for i in range(1, 41)), encoding="utf-8")
    run_id = _run(run_cli, project, "show.ipynb", "print(open('rows.txt').read())")
    rows.write_text(rows.read_text().replace("row 40\n", "row 41\n"), encoding="utf-8")

    result = run_cli("reproduce", run_id, cwd=project)
    assert result.exit_code == 1, result.output
    message = result.stderr.splitlines()[-1]
    assert "output 1 (stdout) differs at line 40, column 5:" in message
    assert "expected '...row 37\\nrow 38\\nrow 39\\nrow 40\\n\\n'" in message
    assert "got '...row 37\\nrow 38\\nrow 39\\nrow 41\\n\\n'" in message

    # A short text is quoted whole; the JSON keeps both outputs in full.
    (project / "short.txt").write_text("count 3", encoding="utf-8")
    short_id = _run(run_cli, project, "short.ipynb", "print(open('short.txt').read())")
    (project / "short.txt").write_text("count 4", encoding="utf-8")
    report = json.loads(run_cli("reproduce", short_id, "--output-format", "json",
                                cwd=project).stdout)
    assert report["difference"]["message"].endswith(
        "output 1 (stdout) differs: expected 'count 3\\n', got 'count 4\\n'")
    assert report["difference"]["expected"] == "count 3\n"


def test_runs_list_refuses_unknown_kinds_and_parents_and_says_when_filters_match_nothing(
        project, run_cli):
    run_id = _run(run_cli, project, "one.ipynb", "print(1)")

    typo = run_cli("runs", "list", "--kind", "swep", cwd=project)
    assert typo.exit_code == 2
    assert typo.stderr.strip() == (
        "error: --kind 'swep' is not a kind of run (did you mean 'sweep'?); the kinds are"
        " run, reproduce, sweep, pipeline, step")
    assert typo.stdout == ""
    status = run_cli("runs", "list", "--status", "faild", cwd=project)
    assert status.exit_code == 2
    assert status.stderr.startswith(
        "error: --status 'faild' is not a status (did you mean 'failed'?); the statuses are")

    unknown = run_cli("runs", "list", "--parent", "zzz", cwd=project)
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: --parent: no run 'zzz' in ")
    assert len(unknown.stderr.splitlines()) == 1

    nothing = run_cli("runs", "list", "--kind", "sweep", cwd=project)
    assert nothing.exit_code == 0
    assert "No run matches the filters (--kind sweep)" in nothing.stderr
    assert "No runs recorded yet" not in nothing.stderr
    children = run_cli("runs", "list", "--parent", run_id[-6:], cwd=project)
    assert children.exit_code == 0
    assert f"No run matches the filters (--parent {run_id})" in children.stderr
    assert run_id in run_cli("runs", "list", "--kind", "run", cwd=project).stdout


def test_commands_that_read_the_store_name_the_store_run_used_elsewhere(tmp_path, run_cli):
    import subprocess

    proj = tmp_path / "proj"
    proj.mkdir()
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    write_notebook(tmp_path, "nb.ipynb", "print(1)")
    ran = run_cli("run", "../nb.ipynb", "--output-format", "json", cwd=proj)
    assert ran.exit_code == 0, ran.output
    run_id = json.loads(ran.stdout)["run_id"]
    assert (tmp_path / ".nbprod" / "runs" / run_id).is_dir()  # beside the notebook

    listed = run_cli("runs", "list", cwd=proj)
    assert listed.exit_code == 2
    assert listed.stderr.strip() == (
        "error: no run store at .nbprod, but there is one at ../.nbprod (nbprod run keeps a"
        " notebook's runs at its project root: the folder of the nearest pyproject.toml above"
        " the notebook, else the notebook's own folder); pass --store ../.nbprod, or run the"
        " command from ..")
    shown = run_cli("runs", "show", run_id, cwd=proj)
    assert shown.exit_code == 2 and "there is one at ../.nbprod" in shown.stderr
    assert run_id in run_cli("runs", "list", "--store", "../.nbprod", cwd=proj).stdout
    assert run_id in run_cli("runs", "list", cwd=tmp_path).stdout

    # A notebook in a subfolder of a project without pyproject.toml: found below too.
    top = tmp_path / "top"
    (top / "notebooks").mkdir(parents=True)
    write_notebook(top / "notebooks", "train.ipynb", "print(2)")
    assert run_cli("run", "notebooks/train.ipynb", cwd=top).exit_code == 0
    below = run_cli("runs", "list", cwd=top)
    assert below.exit_code == 2
    assert "but there are run stores at notebooks/.nbprod, ../.nbprod" in below.stderr
    assert "pass --store notebooks/.nbprod, or run the command from notebooks" in below.stderr

    # No store anywhere near: still simply no runs.
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_cli("runs", "list", "--store", empty / ".nbprod", cwd=empty)
    assert nothing.exit_code == 0 and "No runs recorded yet." in nothing.stderr


def test_report_of_a_killed_run_says_its_git_state_was_not_recorded(project, run_cli):
    import subprocess
    import time

    from tests.integration.run.runhelpers import child_env, nbprod_command

    subprocess.run(["git", "init", "-q", str(project)], check=True)
    nb_path = write_notebook(project, "slow.ipynb", "import time\ntime.sleep(60)")
    runner = subprocess.Popen([*nbprod_command(), "run", str(nb_path), "-q"], cwd=project,
                              env=child_env(project), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    runs = project / ".nbprod" / "runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (runs.is_dir() and any(runs.iterdir())):
        time.sleep(0.05)
    time.sleep(1.0)
    runner.kill()
    runner.wait(timeout=30)
    [run_dir] = list(runs.iterdir())

    page = run_cli("runs", "report", run_dir.name, "-o", "-", cwd=project)
    assert page.exit_code == 0, page.output
    assert "interrupted" in page.stdout
    assert "not in a git repository" not in page.stdout
    assert ("git and environment not recorded: the run ended before it wrote its receipt"
            in page.stdout)


def test_reproduce_refuses_sweeps_and_function_steps_saying_what_to_do(project, run_cli):
    from nbprod.store import Store

    write_notebook(project, "sq.ipynb", {"source": "x: int = 1", "tags": ["parameters"]},
                   "print(x * x)")
    swept = run_cli("sweep", "sq.ipynb", "-p", "x", "2,3", cwd=project)
    assert swept.exit_code == 0, swept.output
    [sweep] = json.loads(run_cli("runs", "list", "--kind", "sweep", "--output-format", "json",
                                 cwd=project).stdout)
    result = run_cli("reproduce", sweep["run_id"], cwd=project)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: run {sweep['run_id']} is a sweep, which cannot be reproduced as a whole;"
        " reproduce one of its runs instead (list them with"
        f" 'nbprod runs list --parent {sweep['run_id']}')")
    assert "pick a finished run" not in result.stderr
    children = run_cli("runs", "list", "--parent", sweep["run_id"], "--output-format", "json",
                       cwd=project)
    assert len(json.loads(children.stdout)) == 2

    # A function step of a pipeline, as the pipeline records it: no output notebook.
    store = Store.open(project)
    pipeline = store.begin_run("pipeline.toml", "blake3:" + "2" * 64, {}, kind="pipeline")
    # Steps of a notebook's step: cells record the notebook they came from.
    step = store.begin_run("notebooks/train.ipynb", "blake3:" + "3" * 64, {"n": 1},
                           kind="step", parent=pipeline.run_id)
    store.finish_run(step.run_id, {"status": "succeeded", "kind": "step",
                                   "pipeline": {"name": "p", "step": "clean",
                                                "run": pipeline.run_id}})
    store.finish_run(pipeline.run_id, {"status": "succeeded", "kind": "pipeline"})
    store.close()
    result = run_cli("reproduce", step.run_id, cwd=project)
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith(f"error: run {step.run_id} is a function step of a pipeline")
    assert "'nbprod pipeline run --only clean --force'" in message
    assert "has no output notebook" not in message
    whole = run_cli("reproduce", pipeline.run_id, cwd=project)
    assert whole.exit_code == 2
    assert (f"error: run {pipeline.run_id} is a pipeline run of function steps, which ran"
            " functions, not notebooks: nothing to reproduce") in whole.stderr


def test_runs_show_lists_parameter_types_as_declared(project, run_cli):
    run_id = _run(run_cli, project, "typed.ipynb",
                  {"source": "layers: list[int] = [64, 32]\nnames: dict[str, float] = {}\n"
                             "lr: float = 0.1", "tags": ["parameters"]},
                  "print(layers, names, lr)", args=("-p", "lr", "0.2"))
    shown = run_cli("runs", "show", run_id, cwd=project)
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines() if line.strip()}
    assert rows["layers"][1:] == ["[64,", "32]", "list[int]", "default"]
    assert rows["names"][1:] == ["{}", "dict[str,", "float]", "default"]
    assert rows["lr"][1:] == ["0.2", "float", "given"]
