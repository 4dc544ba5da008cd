"""``pytest --nbprod`` end to end: real kernels, run and compare modes, markers, parameters."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbclient  # noqa: F401  imported once here so in-process pytest runs reuse it
import pytest
from nbtest_support import error, result, stream, verdicts, write_notebook

# Plugins the inner runs do not need: the browser-test plugin keeps global state that a nested
# session trips on, and the others only slow the start of each (xdist worker) session.
UNUSED = ("playwright", "nbval", "nbmake", "hypothesispytest", "anyio", "asyncio", "cacheprovider")
RUN = (*(arg for name in UNUSED for arg in ("-p", f"no:{name}")), "-rA", "--junitxml=report.xml")


@pytest.fixture
def project(pytester, monkeypatch):
    """A pytester folder that is its own nbprod project (config discovery stops there)."""
    monkeypatch.setenv("NBPROD_CEILING_DIRECTORIES", str(pytester.path))

    def make(test_table: str = "") -> pytester.__class__:
        pytester.makefile(".toml", pyproject=f"[tool.nbprod.test]\n{test_table}\n")
        return pytester

    return make


def test_run_mode_passes_clean_notebook_and_fails_raising_one_naming_the_cell(project):
    pt = project()
    write_notebook(pt.path, "good.ipynb", "x = 20", "print(x * 2)")
    failing = "values = [1, 2]\nraise ValueError(f'boom {len(values)}')"
    bad = write_notebook(pt.path, "bad.ipynb", "import math", failing)
    before = bad.read_bytes()
    outcome = pt.runpytest("--nbprod", *RUN)
    outcome.assert_outcomes(passed=1, failed=1)
    assert verdicts(pt.path / "report.xml") == {"good.ipynb": "pass", "bad.ipynb": "fail"}
    text = outcome.stdout.str()
    assert "bad.ipynb: cell 2 (id 'c2'): raised ValueError: boom 2" in text
    assert "--- source of cell 2 (id 'c2') ---" in text
    assert "2 | raise ValueError(f'boom {len(values)}')" in text
    assert "--- traceback ---" in text and "ValueError: boom 2" in text
    assert "\x1b[" not in text  # tracebacks are shown without terminal colours
    assert bad.read_bytes() == before  # the notebook under test is never modified


def test_a_failing_notebook_gets_an_html_report(project):
    pt = project()
    write_notebook(pt.path, "good.ipynb", "x = 20")
    write_notebook(pt.path, "sub/bad.ipynb", "import math", "raise ValueError('boom 7')")
    outcome = pt.runpytest("--nbprod", "--nbprod-report", "reports", *RUN)
    outcome.assert_outcomes(passed=1, failed=1)
    pages = sorted(p.name for p in (pt.path / "reports").iterdir())
    assert pages == ["sub_bad.html"]  # only the failing notebook
    page = (pt.path / "reports" / "sub_bad.html").read_text()
    assert "sub/bad.ipynb" in page and "raised ValueError: boom 7" in page
    assert '<a href="#cell-id=c2">cell 2 (id c2)</a>' in page
    assert "celltag_nbprod-failed" in page and "<script src" not in page


def test_notebooks_are_not_collected_without_the_option(project):
    pt = project()
    write_notebook(pt.path, "bad.ipynb", "raise ValueError('never run')")
    outcome = pt.runpytest(*RUN)
    assert outcome.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_notebook_naming_a_kernel_this_machine_lacks_says_what_to_do(project):
    pt = project()
    path = write_notebook(pt.path, "old.ipynb", "print(6 * 7)")
    data = json.loads(path.read_text())
    data["metadata"]["kernelspec"] = {"name": "python2", "display_name": "Python 2",
                                      "language": "python"}
    path.write_text(json.dumps(data))
    outcome = pt.runpytest("--nbprod", *RUN)
    outcome.assert_outcomes(failed=1)
    text = outcome.stdout.str()
    assert "old.ipynb: no Jupyter kernel named 'python2' is installed (installed: " in text
    assert "python3" in text and "; pass --nbprod-kernel NAME, set kernel" in text
    assert "Traceback" not in text  # jupyter_client's own log of the missing kernel
    outcome = pt.runpytest("--nbprod", "--nbprod-kernel", "python3", *RUN)
    outcome.assert_outcomes(passed=1)


def test_a_folder_with_a_notest_file_is_skipped_as_nbdev_skips_it(project):
    pt = project()
    write_notebook(pt.path, "kept/good.ipynb", "x = 1")
    write_notebook(pt.path, "fixtures/fails_on_purpose.ipynb", "assert 123 == 593")
    (pt.path / "fixtures" / ".notest").write_text("")
    outcome = pt.runpytest("--nbprod", *RUN)
    outcome.assert_outcomes(passed=1, skipped=1)
    assert "a .notest file beside it (nbdev)" in outcome.stdout.str()


def test_compare_mode_normalises_volatile_output_and_reports_a_real_difference(project):
    pt = project(
        'sanitizers = [{ regex = "run-[0-9]+", replace = "run-N" }]\n'
    )
    volatile = (
        "import uuid, datetime, tempfile, os\n"
        "class Thing: pass\n"
        "print(Thing())\n"
        "print(uuid.uuid4())\n"
        "print(datetime.datetime.now().isoformat())\n"
        "print(tempfile.mkdtemp())\n"
        "print(0.1 + 0.2)\n"
        "print('run-' + str(os.getpid()))"
    )
    stored = (
        "<__main__.Thing object at 0x7f00deadbeef>\n"
        "123e4567-e89b-12d3-a456-426614174000\n"
        "2001-01-01T00:00:00.000001\n"
        "/tmp/tmpabcdefgh\n"
        "0.3000000000001\n"
        "run-1\n"
    )
    write_notebook(pt.path, "volatile.ipynb", {"source": volatile, "outputs": [stream(stored)]})
    write_notebook(
        pt.path,
        "drift.ipynb",
        {"source": "total = 41\ntotal", "outputs": [result("42")]},
        {"source": "print('same')", "outputs": [stream("same\n")]},
    )
    outcome = pt.runpytest("--nbprod-compare", *RUN)
    assert verdicts(pt.path / "report.xml") == {"volatile.ipynb": "pass", "drift.ipynb": "fail"}
    text = outcome.stdout.str()
    assert "drift.ipynb: cell 1 (id 'c1'): 'text/plain' output differs" in text
    assert "-42" in text and "+41" in text
    assert "1 | total = 41" in text

    # The same notebooks in run mode: outputs are not compared, so both pass.
    outcome = pt.runpytest("--nbprod", "--nbprod-mode=run", *RUN)
    outcome.assert_outcomes(passed=2)


def test_markers_keep_the_meaning_nbval_nbmake_and_nbdev_gave_them(project):
    pt = project('mode = "compare"')
    write_notebook(
        pt.path,
        "markers.ipynb",
        {"source": "# NBVAL_SKIP\nraise RuntimeError('skipped by comment')"},
        {"source": "raise RuntimeError('skipped by tag')", "tags": ["nbval-skip"]},
        {"source": "raise RuntimeError('skipped by nbmake')", "tags": ["skip-execution"]},
        {"source": "#| eval: false\nraise RuntimeError('skipped by nbdev')"},
        {"source": "# NBVAL_IGNORE_OUTPUT\nprint(7)", "outputs": [stream("6\n")]},
        {"source": "print(8)", "tags": ["nbval-ignore-output"], "outputs": [stream("9\n")]},
        {
            "source": "# NBVAL_RAISES_EXCEPTION\n1 / 0",
            "outputs": [error("ZeroDivisionError", "division by zero")],
        },
        {"source": "{}['k']", "tags": ["raises-exception"], "outputs": [error("KeyError", "'k'")]},
        {"source": "int('x')", "tags": ["nbval-raises-exception"], "execution_count": None},
        {"source": "print('after the errors')", "outputs": [stream("after the errors\n")]},
    )
    # Run mode compares only cells marked NBVAL_CHECK_OUTPUT (as nbval --nbval-lax does).
    write_notebook(
        pt.path,
        "checked.ipynb",
        {"source": "print(1)", "outputs": [stream("100\n")]},
        {"source": "# NBVAL_CHECK_OUTPUT\nprint(2)", "outputs": [stream("3\n")]},
    )
    outcome = pt.runpytest("--nbprod", *RUN, "markers.ipynb")
    outcome.assert_outcomes(passed=1)
    outcome = pt.runpytest("--nbprod-mode=run", *RUN, "checked.ipynb")
    outcome.assert_outcomes(failed=1)
    text = outcome.stdout.str()
    assert "checked.ipynb: cell 2 (id 'c2'): 'stdout' output differs" in text
    assert "cell 1 (id 'c1')" not in text  # unmarked: not compared in run mode


def test_parameters_from_config_are_injected_after_the_parameters_cell(project):
    pt = project(
        "[tool.nbprod.test.parameters]\n"
        '"small*.ipynb" = { n_samples = 7, label = "ci" }\n'
        '"typo.ipynb" = { n_sample = 7 }\n'
    )
    write_notebook(
        pt.path,
        "small_run.ipynb",
        {"source": "n_samples: int = 100000\nlabel = 'full'", "tags": ["parameters"]},
        "assert (n_samples, label) == (7, 'ci'), (n_samples, label)",
    )
    write_notebook(
        pt.path,
        "typo.ipynb",
        {"source": "n_samples: int = 100000", "tags": ["parameters"]},
        "print(n_samples)",
    )
    outcome = pt.runpytest("--nbprod", *RUN)
    assert verdicts(pt.path / "report.xml") == {"small_run.ipynb": "pass", "typo.ipynb": "fail"}
    text = outcome.stdout.str()
    assert "unknown parameter 'n_sample' (did you mean 'n_samples'?)" in text
    assert "Traceback" not in text


def test_a_cell_over_the_timeout_fails_naming_the_cell(project):
    pt = project("timeout = 2")
    write_notebook(pt.path, "slow.ipynb", "x = 1", "import time\ntime.sleep(60)")
    outcome = pt.runpytest("--nbprod", *RUN)
    outcome.assert_outcomes(failed=1)
    assert "slow.ipynb: cell 2 (id 'c2'): timed out after 2 s" in outcome.stdout.str()


def test_notebooks_run_in_parallel_one_item_per_notebook(project):
    pt = project()
    for index in range(2):
        write_notebook(pt.path, f"nb{index}.ipynb", "import os", f"print({index}, os.getpid())")
    write_notebook(pt.path, "broken.ipynb", "undefined_name")
    outcome = pt.runpytest("--nbprod", "-n", "2", *RUN)
    outcome.assert_outcomes(passed=2, failed=1)
    assert "2 workers" in outcome.stdout.str()
    assert "broken.ipynb: cell 1 (id 'c1'): raised NameError" in outcome.stdout.str()


def test_bad_configuration_is_a_one_line_error(project):
    pt = project('mode = "strict"')
    write_notebook(pt.path, "a.ipynb", "x = 1")
    outcome = pt.runpytest("--nbprod", *RUN)
    assert outcome.ret != 0
    text = outcome.stdout.str()
    assert "'mode' must be one of run, compare, got 'strict'" in text
    assert "Traceback" not in text


def test_excluded_and_checkpoint_notebooks_are_not_collected(project):
    pt = project('exclude = ["scratch/*.ipynb"]')
    write_notebook(pt.path, "scratch/draft.ipynb", "raise ValueError")
    write_notebook(pt.path, "keep.ipynb", "x = 1")
    outcome = pt.runpytest("--nbprod", "--collect-only", "-q", *RUN)
    assert "keep.ipynb::run" in outcome.stdout.str()
    assert "draft.ipynb" not in outcome.stdout.str()


def test_unreadable_notebook_is_a_collection_error_not_a_failed_test(project):
    pt = project()
    write_notebook(pt.path, "good.ipynb", "x = 1")
    (pt.path / "broken.ipynb").write_text('{"nbformat": 4, "cells": [', encoding="utf-8")
    outcome = pt.runpytest("--nbprod", *RUN)
    assert outcome.ret == pytest.ExitCode.INTERRUPTED  # pytest's exit 2: errors in collection
    outcome.assert_outcomes(errors=1)
    text = outcome.stdout.str()
    assert "ERROR collecting broken.ipynb" in text
    assert "broken.ipynb: not valid JSON" in text and "Traceback" not in text
    # Collected anyway with --continue-on-collection-errors: the good notebook passes.
    outcome = pt.runpytest("--nbprod", "--continue-on-collection-errors", *RUN)
    outcome.assert_outcomes(passed=1, errors=1)


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie nobody reaped yet has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.parametrize("ending", ["", "\nimport os\nos._exit(0)"], ids=["ends", "kernel-exits"])
def test_processes_a_notebook_starts_do_not_outlive_its_test(project, ending):
    """The kernel's whole process group goes when the notebook's test ends, as after
    ``nbprod run``, even when the kernel itself died first: a server or worker the notebook
    started is not left running."""
    pt = project()
    write_notebook(pt.path, "spawns.ipynb",
                   "import pathlib, subprocess\nchild = subprocess.Popen(['sleep', '300'])\n"
                   "pathlib.Path('child.pid').write_text(str(child.pid))" + ending)
    outcome = pt.runpytest("--nbprod", *RUN)
    outcome.assert_outcomes(**({"failed": 1} if ending else {"passed": 1}))
    pid = int((pt.path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def test_the_kernel_process_output_is_shown_only_for_a_kernel_that_died(project):
    """What the kernel process itself writes (jupyter's start-up warnings, a crash message)
    is not the notebook's output: it is not in every failing test's captured stderr, and
    it is in the report of a kernel that died, where it may say why."""
    pt = project()
    write_notebook(pt.path, "raises.ipynb", "raise ValueError('boom')")
    write_notebook(pt.path, "dies.ipynb",
                   "import os, sys\nprint('last words', file=sys.__stderr__, flush=True)\n"
                   "os._exit(3)")
    outcome = pt.runpytest("--nbprod", *RUN)
    outcome.assert_outcomes(failed=2)
    text = outcome.stdout.str()
    assert "Captured stderr" not in text
    report = text[text.index("dies.ipynb: cell 1 (id 'c1'): the kernel died"):]
    assert "--- the kernel process's own output, last lines ---" in report
    assert "last words" in report


def test_notebooks_git_ignores_are_collected_only_when_named(project):
    """An executed copy or a download that git ignores is not one of the project's
    notebooks (``nbprod lint`` leaves it out too), unless it is named on the command line."""
    import subprocess

    pt = project()
    write_notebook(pt.path, "train.ipynb", "x = 1")
    write_notebook(pt.path, "train.output.ipynb", "x = 1")
    write_notebook(pt.path, "downloads/lesson.ipynb", "x = 1")
    (pt.path / ".gitignore").write_text("*.output.ipynb\ndownloads/\n")
    subprocess.run(["git", "init", "-q"], cwd=pt.path, check=True)
    found = pt.runpytest("--nbprod", "--collect-only", "-q", *RUN)
    assert "train.ipynb::run" in found.stdout.str()
    assert "output.ipynb" not in found.stdout.str() and "lesson" not in found.stdout.str()
    named = pt.runpytest("--nbprod", "--collect-only", "-q", "downloads/lesson.ipynb", *RUN)
    assert "downloads/lesson.ipynb::run" in named.stdout.str()


def test_a_kernel_that_cannot_start_shows_what_it_wrote(project, monkeypatch):
    import sys

    pt = project()
    spec = pt.path / "jupyter" / "kernels" / "broken"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c",
            "import sys; print('broken kernel start', file=sys.stderr); sys.exit(1)"]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "broken", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(pt.path / "jupyter"))
    write_notebook(pt.path, "nb.ipynb", "x = 1")
    # In a process of its own: nothing may be left to run, and fail, when it exits.
    outcome = pt.runpytest_subprocess("--nbprod", "--nbprod-kernel", "broken", *RUN)
    outcome.assert_outcomes(failed=1)
    text = outcome.stdout.str()
    report = text[text.index("nb.ipynb: kernel 'broken' could not start"):]
    assert "--- the kernel process's own output, last lines ---" in report
    assert "broken kernel start" in report
    assert "Traceback" not in outcome.stderr.str()
