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
