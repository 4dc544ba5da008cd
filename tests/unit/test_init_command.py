"""``nbprod init``: generated files are valid and lint-clean; nothing is overwritten silently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import yaml

from nbprod import __version__
from nbprod.config import load_project_config, tomllib
from nbprod.export import ExportConfig
from nbprod.lint import LintConfig
from nbprod.notebook import load
from nbprod.testing.config import TestConfig

GENERATED = [
    "pyproject.toml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".github/workflows/nbprod.yml",
    "notebooks/analysis.ipynb",
]


def snapshot(folder):
    return {p: (folder / p).read_bytes() for p in GENERATED if (folder / p).exists()}


def nbprod(*args, cwd):
    """The installed command itself, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "nbprod", *args], cwd=cwd, capture_output=True, text=True
    )


def test_init_writes_a_complete_project(run_cli, tmp_path):
    project = tmp_path / "proj"
    result = run_cli("init", project)
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(project)) == sorted(GENERATED)
    for line in ("created    notebooks/analysis.ipynb", "created    pyproject.toml",
                 "  python -m pytest --nbprod notebooks "):
        assert line in result.output

    config = load_project_config(project)
    assert config.section("test", TestConfig).parameters == {
        "notebooks/analysis.ipynb": {"n_samples": 100}
    }
    assert config.section("lint", LintConfig) == LintConfig()  # the default selection
    assert config.section("export", ExportConfig).tests_dir == "tests"
    ignored = (project / ".gitignore").read_text().splitlines()
    assert ignored[2:] == [".nbprod/", ".ipynb_checkpoints/", "*.output.ipynb"]


def test_workflow_parses_and_has_the_expected_jobs(run_cli, tmp_path):
    run_cli("init", tmp_path)
    workflow = yaml.safe_load((tmp_path / ".github/workflows/nbprod.yml").read_text())
    assert set(workflow["jobs"]) == {"lint", "export-check", "notebooks", "exported-tests"}
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "pull_request"}

    def runs(job):
        return "\n".join(step.get("run", "") for step in workflow["jobs"][job]["steps"])

    lint = workflow["jobs"]["lint"]
    assert lint["permissions"]["security-events"] == "write"
    assert "nbprod lint --output-format sarif" in runs("lint")
    upload = [s for s in lint["steps"] if "upload-sarif" in s.get("uses", "")]
    assert upload and upload[0]["with"]["sarif_file"] == "nbprod-lint.sarif"
    cache = [s for s in lint["steps"] if s.get("uses", "").startswith("actions/cache@")]
    # The lint results only: never code nbprod would run (its compiled schema checks).
    assert cache and cache[0]["with"]["path"] == "~/.cache/nbprod/lint"
    assert cache[0]["with"]["key"] == "nbprod-lint-${{ runner.os }}-${{ github.sha }}"
    assert "nbprod export --check notebooks/*.ipynb" in runs("export-check")
    assert ("python -m pytest --nbprod --nbprod-report nbprod-reports -n auto notebooks"
            in runs("notebooks"))
    artifact = [s for s in workflow["jobs"]["notebooks"]["steps"]
                if "upload-artifact" in s.get("uses", "")]
    assert artifact and artifact[0]["with"]["path"] == "nbprod-reports/"
    assert artifact[0]["if"] == "failure()"
    assert "python -m pytest tests" in runs("exported-tests")

    repo = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())["repos"][0]
    # A local hook installing nbprod's wheel: a git checkout of nbprod would need Node to
    # build its JupyterLab extension (tests/integration/test_wheel.py runs it for real).
    (hook,) = repo["hooks"]
    assert repo["repo"] == "local"
    assert hook["additional_dependencies"] == [f"nbprod=={__version__}"]
    assert (hook["id"], hook["entry"], hook["language"], hook["types"]) == (
        "nbprod-lint", "nbprod lint", "python", ["jupyter"])
    # the same hook as the repository's own hook file defines for the git form
    hook_file = Path(__file__).parents[2] / ".pre-commit-hooks.yaml"
    (shipped,) = yaml.safe_load(hook_file.read_text())
    assert {k: shipped[k] for k in ("id", "entry", "language", "types")} == {
        k: hook[k] for k in ("id", "entry", "language", "types")}


def test_starter_notebook_is_tagged_lint_clean_and_exports(run_cli, tmp_path):
    run_cli("init", tmp_path)
    nb = load(tmp_path / "notebooks/analysis.ipynb")
    tags = {tag for cell in nb.cells for tag in cell.tags}
    assert {"parameters", "export", "test"} <= tags
    assert all(cell.execution_count is None and not cell.outputs for cell in nb.code_cells)

    lint = nbprod("lint", "notebooks", cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert nbprod("export", "notebooks/analysis.ipynb", cwd=tmp_path).returncode == 0
    check = nbprod("export", "--check", "notebooks/analysis.ipynb", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_running_init_again_changes_nothing(run_cli, tmp_path):
    run_cli("init", tmp_path)
    first = snapshot(tmp_path)
    again = run_cli("init", tmp_path)
    assert again.exit_code == 0
    assert "Already set up; nothing to change." in again.output
    assert snapshot(tmp_path) == first
    forced = run_cli("init", tmp_path, "--force")
    assert forced.exit_code == 0
    assert snapshot(tmp_path) == first


def test_refuses_to_overwrite_an_edited_file_and_writes_nothing(run_cli, tmp_path):
    run_cli("init", tmp_path)
    workflow = tmp_path / ".github/workflows/nbprod.yml"
    workflow.write_text("name: mine\n")
    (tmp_path / ".pre-commit-config.yaml").unlink()
    result = run_cli("init", tmp_path)
    assert result.exit_code == 2
    assert "refusing to overwrite .github/workflows/nbprod.yml" in result.output
    assert "--force" in result.output and "Traceback" not in result.output
    assert workflow.read_text() == "name: mine\n"
    assert not (tmp_path / ".pre-commit-config.yaml").exists()  # nothing written at all

    assert run_cli("init", tmp_path, "--force").exit_code == 0
    assert "upload-sarif" in workflow.read_text()


def test_appends_to_an_existing_pyproject_and_gitignore(run_cli, tmp_path):
    original = '[project]\nname = "demo"\n\n[tool.ruff]\nline-length = 90'  # no final newline
    (tmp_path / "pyproject.toml").write_text(original)
    (tmp_path / ".gitignore").write_text("dist/\n/.nbprod\n")
    result = run_cli("init", tmp_path)
    assert result.exit_code == 0
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original + "\n\n[tool.nbprod]\n")
    document = tomllib.loads(text)
    assert document["project"] == {"name": "demo"}
    assert document["tool"]["ruff"] == {"line-length": 90}
    assert (tmp_path / ".gitignore").read_text().splitlines() == [
        "dist/", "/.nbprod", "", "# nbprod: the local run store (.nbprod/), notebook checkpoints,"
        " and the executed copies the", "# JupyterLab Run section writes beside a notebook (the"
        " run store keeps them too)", ".ipynb_checkpoints/", "*.output.ipynb",
    ]


def test_existing_nbprod_section_needs_force_and_other_tables_survive(run_cli, tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "demo"\n\n[tool.nbprod.lint]\nselect = ["NB0"]\n\n'
        '[tool.nbprod.test]\ntimeout = 5\n\n[tool.black]\nline-length = 80\n'
    )
    refused = run_cli("init", tmp_path)
    assert refused.exit_code == 2
    assert "pyproject.toml ([tool.nbprod] exists)" in refused.output
    assert not (tmp_path / "notebooks").exists()

    assert run_cli("init", tmp_path, "--force").exit_code == 0
    document = tomllib.loads(pyproject.read_text())
    assert document["project"] == {"name": "demo"}
    assert document["tool"]["black"] == {"line-length": 80}
    assert document["tool"]["nbprod"]["lint"] == {}
    assert document["tool"]["nbprod"]["test"]["timeout"] == 600
    assert pyproject.read_text().count("[tool.nbprod.test]") == 1


def test_invalid_pyproject_is_a_one_line_error(run_cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\n")
    result = run_cli("init", tmp_path)
    assert result.exit_code == 2
    assert "pyproject.toml: not valid TOML" in result.output
    assert not (tmp_path / "notebooks").exists()


def test_every_file_is_written_atomically(run_cli, tmp_path, monkeypatch):
    import nbprod.scaffold

    written = []
    real = nbprod.scaffold.atomic_write

    def recording(path, data, **kwargs):
        written.append(path.relative_to(tmp_path).as_posix())
        real(path, data, **kwargs)

    monkeypatch.setattr(nbprod.scaffold, "atomic_write", recording)
    assert run_cli("init", tmp_path).exit_code == 0
    assert sorted(written) == sorted(GENERATED)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".nbprod-tmp-")]
    assert leftovers == []


def test_gitlab_jobs_parse_are_included_and_their_lint_commands_run(run_cli, tmp_path,
                                                                     monkeypatch):
    result = run_cli("init", tmp_path, "--ci", "gitlab")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / ".github").exists()
    assert yaml.safe_load((tmp_path / ".gitlab-ci.yml").read_text()) == {
        "include": [{"local": ".gitlab/nbprod-ci.yml"}]}
    jobs = yaml.safe_load((tmp_path / ".gitlab/nbprod-ci.yml").read_text())
    assert {name for name in jobs if not name.startswith(".")} == {
        "variables", "nbprod-lint", "nbprod-export-check", "nbprod-notebooks",
        "nbprod-exported-tests"}
    lint = jobs["nbprod-lint"]
    assert lint["artifacts"]["reports"] == {"codequality": "gl-code-quality-report.json",
                                            "junit": "nbprod-lint.xml"}
    assert lint["artifacts"]["when"] == "always"
    # The lint results only, inside the project as GitLab requires: never compiled code.
    assert lint["cache"]["paths"] == [".cache/nbprod/lint"]
    assert lint["variables"]["NBPROD_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/nbprod"
    assert jobs["variables"]["NBPROD"] == f"nbprod[run]=={__version__}"
    assert ("python -m pytest --nbprod --nbprod-report nbprod-reports -n auto notebooks"
            in jobs["nbprod-notebooks"]["script"])

    # The lint job's two commands, as the runner would run them in the new project.
    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path / ".cache" / "nbprod"))
    report, junit = (command.split(" > ")[0].split()[1:] for command in lint["script"]
                     if command.startswith("nbprod lint"))
    quality = run_cli(*report, cwd=tmp_path)
    assert quality.exit_code == 0 and json.loads(quality.stdout) == []
    tests = run_cli(*junit, cwd=tmp_path)
    assert tests.exit_code == 0
    assert ElementTree.fromstring(tests.stdout.encode()).get("failures") == "0"


def test_an_existing_gitlab_ci_file_is_left_alone_and_the_include_is_named(run_cli,
                                                                           tmp_path):
    own = "stages: [test]\nunit:\n  script: [pytest]\n"
    (tmp_path / ".gitlab-ci.yml").write_text(own)
    result = run_cli("init", tmp_path, "--ci", "gitlab")
    assert result.exit_code == 0
    assert (tmp_path / ".gitlab-ci.yml").read_text() == own
    assert "unchanged  .gitlab-ci.yml" in result.stdout
    assert "- local: .gitlab/nbprod-ci.yml" in result.stderr
    (tmp_path / ".gitlab-ci.yml").write_text(own + "include:\n  - local: .gitlab/nbprod-ci.yml\n")
    again = run_cli("init", tmp_path, "--ci", "gitlab")
    assert "Already set up" in again.stdout and "include" not in again.stderr


def test_a_project_with_notebooks_gets_jobs_for_all_of_them_and_no_starter(run_cli, tmp_path):
    """The usual case: notebooks already live in the project's own folders. CI must check
    those (not an empty notebooks/), with no starter notebook added, and its commands
    must work where the notebooks are."""
    import os

    import nbformat
    from notebook_builder import make_notebook

    from nbprod.scaffold import EXPORT_CHECK_ALL

    for name in ("analysis/explore.ipynb", "reports/q 1.ipynb", "outputs/run-1.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(nbformat.writes(make_notebook("x = 1")))
    (tmp_path / ".gitignore").write_text("outputs/\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)

    result = run_cli("init", tmp_path)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "notebooks").exists()
    assert "The CI jobs check the project's 2 notebooks" in result.stdout
    assert "nbprod tag --suggest NOTEBOOK" in result.stdout
    # As CI runs it: plain `pytest` cannot import the module the exported tests import.
    assert "  python -m pytest --nbprod " in result.stdout
    assert load_project_config(tmp_path).section("test", TestConfig).parameters == {}
    workflow = yaml.safe_load((tmp_path / ".github/workflows/nbprod.yml").read_text())
    runs = {job: "\n".join(step.get("run", "") for step in spec["steps"])
            for job, spec in workflow["jobs"].items()}
    assert "nbprod lint --output-format github .\n" in runs["lint"] + "\n"
    assert EXPORT_CHECK_ALL in runs["export-check"]
    assert "python -m pytest --nbprod --nbprod-report nbprod-reports -n auto ." in (
        runs["notebooks"])

    # The export check and the tests job, as the runner's shell runs them.
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for job, step in (("export-check", "nbprod export --check"),
                      ("exported-tests", "pytest tests")):
        (script,) = [s["run"] for s in workflow["jobs"][job]["steps"] if s.get("name") == step]
        done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, (job, done.stdout, done.stderr)
    assert "No exported tests yet" in done.stdout
    gitlab = run_cli("init", tmp_path, "--ci", "gitlab")
    assert gitlab.exit_code == 0, gitlab.output
    jobs = yaml.safe_load((tmp_path / ".gitlab/nbprod-ci.yml").read_text())
    assert jobs["nbprod-export-check"]["script"] == [EXPORT_CHECK_ALL]


def write_notebook(path, *cells):
    import nbformat
    from notebook_builder import make_notebook

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(make_notebook(*cells)))
    return path


def test_init_leaves_the_default_lint_selection(run_cli, tmp_path):
    """`select = ["NB"]` would replace the default: ruff's rules off, the habits on."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert run_cli("init", tmp_path).exit_code == 0
    assert "select" not in tomllib.loads((tmp_path / "pyproject.toml").read_text())[
        "tool"]["nbprod"]["lint"]
    write_notebook(tmp_path / "nb.ipynb", "import os\nprint(undefined_thing)", "")
    result = run_cli("lint", "nb.ipynb", cwd=tmp_path)
    assert result.exit_code == 1
    codes = {line.split(": ")[1].split()[0] for line in result.stdout.splitlines()
             if ":cell " in line}
    assert {"F401", "F821"} <= codes
    assert not codes & {"NB002", "NB008", "NB012"}
    assert "will fail at cell 1" in result.stdout


def test_rerun_after_adding_notebooks_is_already_set_up(run_cli, tmp_path):
    """init's output for a project without notebooks stays its own once notebooks arrive."""
    for ci, files in (("github", GENERATED), ("gitlab", [".gitlab/nbprod-ci.yml"])):
        folder = tmp_path / ci
        assert run_cli("init", folder, "--ci", ci).exit_code == 0
        write_notebook(folder / "notebooks/train.ipynb", "x = 1")
        first = {name: (folder / name).read_bytes() for name in files}
        again = run_cli("init", folder, "--ci", ci)
        assert again.exit_code == 0, again.output
        assert "Already set up; nothing to change." in again.output
        forced = run_cli("init", folder, "--ci", ci, "--force")
        assert forced.exit_code == 0 and "Already set up" in forced.output
        assert {name: (folder / name).read_bytes() for name in files} == first

    # The other way round: set up over the project's notebooks, then they are gone.
    folder = tmp_path / "had-notebooks"
    write_notebook(folder / "analysis/explore.ipynb", "x = 1")
    assert run_cli("init", folder).exit_code == 0
    (folder / "analysis/explore.ipynb").unlink()
    again = run_cli("init", folder)
    assert again.exit_code == 0, again.output
    assert "unchanged  .github/workflows/nbprod.yml" in again.output

    # A file the user edited is still refused, notebooks or not.
    workflow = tmp_path / "github/.github/workflows/nbprod.yml"
    workflow.write_text(workflow.read_text() + "# mine\n")
    refused = run_cli("init", tmp_path / "github")
    assert refused.exit_code == 2
    assert "refusing to overwrite .github/workflows/nbprod.yml:" in refused.output
    assert workflow.read_text().endswith("# mine\n")


def test_refuses_to_set_up_a_project_inside_another(run_cli, tmp_path):
    assert run_cli("init", tmp_path).exit_code == 0
    before = sorted(tmp_path.rglob("*"))
    for args, cwd in (((), tmp_path / "notebooks"), (("sub/new",), tmp_path / "notebooks")):
        result = run_cli("init", *args, cwd=cwd)
        assert result.exit_code == 2
        (line,) = result.output.splitlines()
        assert f"inside the nbprod project at {tmp_path.resolve()}" in line
        assert "run nbprod init there" in line and "Traceback" not in line
        assert sorted(tmp_path.rglob("*")) == before  # nothing written, no folder made

    # A git work tree whose top is above: the CI files would be where no CI reads them.
    repo = tmp_path / "repo"
    (repo / "analysis").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    nested = run_cli("init", repo / "analysis")
    assert nested.exit_code == 2
    assert f"inside the git work tree at {repo.resolve()}" in nested.output
    assert sorted(p.name for p in (repo / "analysis").iterdir()) == []
    # ...but the top of a repository of its own is a project of its own.
    assert run_cli("init", repo).exit_code == 0


def test_ci_lint_installs_the_project_requirements_and_the_hook_skips_nb208(run_cli,
                                                                            tmp_path):
    """NB208 reports packages that are not installed: CI lint must install the project's,
    and the pre-commit hook, which cannot, must not report them."""
    import os

    gitlab_project, tmp_path = tmp_path / "gl", tmp_path / "gh"
    assert run_cli("init", tmp_path).exit_code == 0
    assert run_cli("init", gitlab_project, "--ci", "gitlab").exit_code == 0
    with (tmp_path / "pyproject.toml").open("a") as config:
        config.write('\n[project]\nname = "demo"\ndependencies = ["pandas>=2", "scikit-learn"]\n')
    (tmp_path / "requirements.txt").write_text("seaborn\n")

    # The install commands as the runner's shell runs them, with a pip that records.
    bin_dir = tmp_path.parent / "bin"
    bin_dir.mkdir()
    log = tmp_path.parent / "pip.log"
    (bin_dir / "pip").write_text(f'#!/bin/sh\necho "$@" >> {log}\n'
                                 f'if [ "$3" = /dev/stdin ]; then cat >> {log}; fi\n')
    (bin_dir / "pip").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    workflow = yaml.safe_load((tmp_path / ".github/workflows/nbprod.yml").read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["lint"]["steps"]]
    install = next(i for i, run in enumerate(steps) if "pip install" in run)
    assert install < min(i for i, run in enumerate(steps) if "nbprod lint" in run)
    gitlab = yaml.safe_load((gitlab_project / ".gitlab/nbprod-ci.yml").read_text())
    lines = gitlab["nbprod-lint"]["script"]
    first_lint = min(i for i, line in enumerate(lines) if line.startswith("nbprod lint"))
    for script in (steps[install], "\n".join(lines[:first_lint])):
        log.unlink(missing_ok=True)
        done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        recorded = log.read_text().splitlines()
        assert "install -r requirements.txt" in recorded
        assert {"pandas>=2", "scikit-learn"} <= set(recorded), recorded

    # No dependencies declared anywhere: nothing to install, and the step still passes.
    (tmp_path / "requirements.txt").unlink()
    (tmp_path / "pyproject.toml").write_text("[tool.nbprod]\n")
    done = subprocess.run(["bash", "-e", "-c", steps[install]], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    (hook,) = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())[
        "repos"][0]["hooks"]
    assert hook["args"] == ["--ignore", "NB208"]
    write_notebook(tmp_path / "notebooks/uses.ipynb", "import not_installed_anywhere_xyz\n"
                   "not_installed_anywhere_xyz.run()")
    plain = run_cli("lint", "notebooks/uses.ipynb", cwd=tmp_path)
    assert "NB208" in plain.stdout
    hooked = run_cli("lint", *hook["args"], "notebooks/uses.ipynb", cwd=tmp_path)
    assert "NB208" not in hooked.stdout, hooked.stdout
