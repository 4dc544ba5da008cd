"""The lint cache: unchanged notebooks are not linted again, and anything that could change a
finding (the notebook, a file a rule looked at, the settings) makes them linted again."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook

import nbprod.lint as lint_module
from nbprod.lint import LintConfig, lint_paths
from nbprod.lint import cache as cache_module
from nbprod.lint.cache import LintCache, default_cache_folder, settings_key

FIXTURES = Path(__file__).parents[2] / "data" / "notebooks" / "lint"


@pytest.fixture
def no_racy_window(monkeypatch):
    """Cache files however recently they were written: the tests write and lint at once.
    (The window itself is tested below, without this fixture.)"""
    monkeypatch.setattr(cache_module, "RACY_SECONDS", 0)


@pytest.fixture
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def write(path: Path, *cells) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(make_notebook(*cells)), encoding="utf-8")
    return path


def lint_cached(paths, cache_dir, config=None, root=None):
    """One `nbprod lint` as the CLI does it: a cache opened for the settings, then saved."""
    config = config or LintConfig(ruff=False)
    cache = LintCache.for_settings(config, root, cache_dir)
    return lint_paths(paths, config, root, cache=cache)


def codes(report) -> list[str]:
    return [d.code for d in report.diagnostics]


def forbid_linting(monkeypatch):
    """Make any notebook that is really linted fail loudly: what follows must be cached."""

    def refuse(path, config, root):
        raise AssertionError(f"{path} was linted again")

    monkeypatch.setattr(lint_module, "_lint_one", refuse)


def test_unchanged_notebooks_come_from_the_cache(tmp_path, cache_dir, monkeypatch,
                                                 no_racy_window):
    first = write(tmp_path / "a.ipynb", "import os\nprint(late)", "late = 1")
    write(tmp_path / "b.ipynb", "x = 1")
    before = lint_cached([tmp_path], cache_dir)
    assert "NB004" in codes(before)
    forbid_linting(monkeypatch)
    after = lint_cached([tmp_path], cache_dir)
    assert after.diagnostics == before.diagnostics
    assert [r.path for r in after.results] == [str(first), str(tmp_path / "b.ipynb")]


def test_ruff_findings_are_cached_with_nbprod_findings(tmp_path, cache_dir, monkeypatch,
                                                       no_racy_window):
    write(tmp_path / "a.ipynb", "import os")
    config = LintConfig()
    before = lint_cached([tmp_path], cache_dir, config)
    assert "F401" in codes(before)
    forbid_linting(monkeypatch)
    monkeypatch.setattr("nbprod.lint.ruff.RuffBatch.start", lambda self: pytest.fail("ruff ran"))
    assert lint_cached([tmp_path], cache_dir, config).diagnostics == before.diagnostics


def test_a_changed_notebook_is_linted_again(tmp_path, cache_dir, no_racy_window):
    path = write(tmp_path / "a.ipynb", "print(late)", "late = 1")
    assert "NB004" in codes(lint_cached([path], cache_dir))
    write(path, "late = 1", "print(late)")
    assert "NB004" not in codes(lint_cached([path], cache_dir))


def test_a_data_file_added_later_clears_missing_data_file(tmp_path, cache_dir, no_racy_window):
    path = write(tmp_path / "a.ipynb", 'import pandas as pd\ndf = pd.read_csv("data/x.csv")')
    assert "NB205" in codes(lint_cached([path], cache_dir))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a,b\n1,2\n")
    assert "NB205" not in codes(lint_cached([path], cache_dir))


def test_an_lfs_pointer_replaced_by_its_data_is_seen(tmp_path, cache_dir, no_racy_window):
    data = tmp_path / "train.csv"
    data.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 12\n")
    path = write(tmp_path / "a.ipynb", 'import pandas as pd\ndf = pd.read_csv("train.csv")')
    assert "NB206" in codes(lint_cached([path], cache_dir))
    data.write_text("a,b\n1,2\n")
    assert "NB206" not in codes(lint_cached([path], cache_dir))


def test_a_new_requirement_clears_undeclared_dependency(tmp_path, cache_dir, no_racy_window):
    (tmp_path / "requirements.txt").write_text("pandas\n")
    path = write(tmp_path / "a.ipynb", "import pandas\nimport yaml")
    assert "NB207" in codes(lint_cached([path], cache_dir, root=tmp_path))
    (tmp_path / "requirements-extra.txt").write_text("pyyaml\n")  # a new file in the folder
    assert "NB207" not in codes(lint_cached([path], cache_dir, root=tmp_path))


def test_other_settings_use_their_own_cache(tmp_path, cache_dir, no_racy_window):
    path = write(tmp_path / "a.ipynb", "print(late)", "late = 1")
    assert "NB004" in codes(lint_cached([path], cache_dir))
    only_hygiene = LintConfig(ruff=False, select=("NB001",))
    assert codes(lint_cached([path], cache_dir, only_hygiene)) == []
    assert settings_key(LintConfig(ruff=False), None) != settings_key(only_hygiene, None)
    assert settings_key(LintConfig(ruff=False), None) != settings_key(
        LintConfig(ruff=False), tmp_path
    )
    assert len(list((cache_dir / "lint").glob("*.json"))) == 2


def test_the_settings_cover_nbprods_own_code(monkeypatch):
    """An edited checkout of nbprod must not reuse findings of its previous code: the
    settings hash the modules' bytes."""
    rules_module = Path(cache_module.__file__).parent / "rules" / "portability.py"
    before = cache_module._code_hash()
    real_open = open

    def edited(path, *args, **kwargs):
        handle = real_open(path, *args, **kwargs)
        if Path(path) == rules_module:
            return __import__("io").BytesIO(handle.read() + b"# edited\n")
        return handle

    monkeypatch.setattr("builtins.open", edited)
    assert cache_module._code_hash() != before


def _fresh_clone(folder: Path) -> None:
    """What a CI job sees: the same files at the same path, with new inodes and times."""
    copy = folder.with_name(folder.name + "-copy")
    shutil.copytree(folder, copy)
    shutil.rmtree(folder)
    copy.rename(folder)
    later = os.stat(next(folder.rglob("*.ipynb"))).st_mtime_ns + 5_000_000_000
    for path in folder.rglob("*"):
        os.utime(path, ns=(later, later))


def test_a_fresh_clone_of_the_same_files_comes_from_the_cache(tmp_path, cache_dir, monkeypatch,
                                                              no_racy_window):
    project = tmp_path / "project"
    write(project / "a.ipynb", "import pandas as pd\nprint(late)", "late = 1")
    write(project / "b.ipynb", "print(later)", "later = 2")  # two: hashed side by side
    (project / "requirements.txt").write_text("pandas\n")
    before = lint_cached([project], cache_dir, root=project)
    assert codes(before) == ["NB004", "NB004"]
    _fresh_clone(project)
    forbid_linting(monkeypatch)
    assert lint_cached([project], cache_dir, root=project).diagnostics == before.diagnostics


def test_a_fresh_clone_with_other_bytes_is_linted_again(tmp_path, cache_dir, no_racy_window):
    project = tmp_path / "project"
    path = write(project / "a.ipynb", "print(late)", "late = 1")
    write(project / "b.ipynb", "print(later)", "later = 2")
    assert codes(lint_cached([project], cache_dir, root=project)) == ["NB004", "NB004"]
    _fresh_clone(project)
    stat = path.stat()
    write(path, "late = 1", "print(late)")  # same path, new bytes...
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ...even under the old times
    after = lint_cached([project], cache_dir, root=project)
    assert [(Path(d.path).name, d.code) for d in after.diagnostics] == [("b.ipynb", "NB004")]


def test_a_notebook_shown_under_another_path_is_linted_again(tmp_path, cache_dir,
                                                             monkeypatch, no_racy_window):
    write(tmp_path / "nbs" / "a.ipynb", "print(late)", "late = 1")
    monkeypatch.chdir(tmp_path)
    lint_cached(["nbs"], cache_dir)
    report = lint_cached([tmp_path / "nbs"], cache_dir)
    assert {d.path for d in report.diagnostics} == {str(tmp_path / "nbs" / "a.ipynb")}


def test_recently_written_notebooks_are_not_cached(tmp_path, cache_dir):
    """Within the racy window a second write could keep the same stat signature."""
    write(tmp_path / "a.ipynb", "x = 1")
    lint_cached([tmp_path], cache_dir)
    assert not (cache_dir / "lint").exists()


def test_fixes_bypass_the_cache(tmp_path, cache_dir, no_racy_window):
    path = write(tmp_path / "a.ipynb", "x = 1", "")
    config = LintConfig(ruff=False, fix=True, extend_select=("NB008",))
    report = lint_cached([path], cache_dir, config)
    assert report.fixed == 1
    assert not (cache_dir / "lint").exists()


def test_unreadable_notebooks_are_never_cached(tmp_path, cache_dir, no_racy_window):
    (tmp_path / "bad.ipynb").write_text("{not json")
    first = lint_cached([tmp_path], cache_dir)
    second = lint_cached([tmp_path], cache_dir)
    assert len(first.errors) == len(second.errors) == 1
    assert not (cache_dir / "lint").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"format": 1, "entries": []}',
        b'{"format": 1, "entries": {"KEY": {"stat": "x"}}}',
        b'{"format": 1, "entries": {"KEY": {"stat": STAT, "display": "DISPLAY", "observed": {},'
        b' "warnings": [], "diagnostics": [{"code": 1}], "used": 0}}}',
    ],
    ids=["not-json", "entries-not-a-dict", "bad-entry", "bad-diagnostic"],
)
def test_a_corrupt_cache_is_ignored_and_rebuilt(tmp_path, cache_dir, content, no_racy_window):
    path = write(tmp_path / "a.ipynb", "print(late)", "late = 1")
    cache = LintCache.for_settings(LintConfig(ruff=False), None, cache_dir)
    cache.file.parent.mkdir(parents=True)
    stat = json.dumps(cache_module.signature(path)).encode()
    cache.file.write_bytes(
        content.replace(b"KEY", os.path.abspath(path).encode())
        .replace(b"STAT", stat)
        .replace(b"DISPLAY", str(path).encode())
    )
    assert "NB004" in codes(lint_cached([path], cache_dir))
    saved = json.loads(cache.file.read_text())
    stored = saved["entries"][os.path.abspath(path)]["diagnostics"]
    assert "NB004" in {d["code"] for d in stored}


def test_an_unwritable_cache_folder_does_not_fail_linting(tmp_path, no_racy_window):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    path = write(tmp_path / "nbs" / "a.ipynb", "print(late)", "late = 1")
    assert "NB004" in codes(lint_cached([path], blocker))


def test_secrets_are_stored_masked(tmp_path, cache_dir, no_racy_window):
    path = tmp_path / "NB401.ipynb"
    shutil.copy(FIXTURES / "NB401.ipynb", path)
    os.utime(path)
    report = lint_cached([path], cache_dir)
    assert "NB401" in codes(report)
    # Every file of the cache (the findings, and the map of installed modules beside them).
    stored = "".join(p.read_text() for p in (cache_dir / "lint").glob("*.json"))
    assert "AKIA" + "IOSFODNN7EXAMPLE" not in stored
    assert "AKIA************MPLE" in stored


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_folder() == tmp_path / "explicit"
    monkeypatch.delenv("NBPROD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_folder() == tmp_path / "xdg" / "nbprod"


def test_cli_reuses_the_cache_and_no_cache_bypasses_it(run_cli, tmp_path, monkeypatch,
                                                       no_racy_window):
    cache_folder = tmp_path / "user-cache"
    monkeypatch.setenv("NBPROD_CACHE_DIR", str(cache_folder))
    project = tmp_path / "project"
    write(project / "a.ipynb", "import os\nprint(late)", "late = 1")
    before = sorted(p.relative_to(project) for p in project.rglob("*"))

    fresh = run_cli("lint", project, "--output-format", "json", "--no-cache")
    assert not cache_folder.exists()
    first = run_cli("lint", project, "--output-format", "json")
    assert list((cache_folder / "lint").glob("*.json"))
    forbid_linting(monkeypatch)
    second = run_cli("lint", project, "--output-format", "json")

    assert fresh.exit_code == first.exit_code == second.exit_code == 1
    assert fresh.stdout == first.stdout == second.stdout
    assert {"NB004", "F401"} <= {d["code"] for d in json.loads(second.stdout)}
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before


def test_concurrent_runs_keep_each_others_entries(tmp_path, cache_dir, no_racy_window):
    """pre-commit runs several linters at once on parts of the file list, one cache file."""
    a = write(tmp_path / "a.ipynb", "print(late)", "late = 1")
    b = write(tmp_path / "b.ipynb", "print(late)", "late = 1")
    config = LintConfig(ruff=False)
    first = LintCache.for_settings(config, None, cache_dir)
    second = LintCache.for_settings(config, None, cache_dir)
    lint_paths([a], config, cache=first)
    lint_paths([b], config, cache=second)
    reread = LintCache.for_settings(config, None, cache_dir)
    assert reread.lookup(a) is not None and reread.lookup(b) is not None


def test_changes_no_rule_looked_at_keep_the_cache(tmp_path, cache_dir, monkeypatch,
                                                  no_racy_window):
    """An editor saving a file beside the notebook (write a temp file, rename it over) changes
    the folder, and rewriting a large data file changes that file: neither changes a finding."""
    (tmp_path / "requirements.txt").write_text("pandas\n")
    data = tmp_path / "data.csv"
    data.write_text("a,b\n" + "1,2\n" * 1000)
    path = write(tmp_path / "a.ipynb", 'import pandas as pd\ndf = pd.read_csv("data.csv")')
    before = lint_cached([path], cache_dir, root=tmp_path)
    (tmp_path / ".~notes.txt").write_text("draft")
    os.replace(tmp_path / ".~notes.txt", tmp_path / "notes.txt")
    data.write_text("a,b\n" + "3,4\n" * 2000)
    forbid_linting(monkeypatch)
    assert lint_cached([path], cache_dir, root=tmp_path).diagnostics == before.diagnostics


def test_reading_warnings_are_reported_again_from_the_cache(tmp_path, cache_dir, monkeypatch,
                                                            no_racy_window):
    path = write(tmp_path / "a.ipynb", "x = 1")
    data = json.loads(path.read_text())
    data["path_"] = "kept as it is"  # an unexpected top-level key: read with a warning
    path.write_text(json.dumps(data))
    before = lint_cached([path], cache_dir)
    assert before.warnings and "path_" in before.warnings[0]
    forbid_linting(monkeypatch)
    assert lint_cached([path], cache_dir).warnings == before.warnings


def test_installing_or_adding_a_path_file_changes_the_settings_key(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    keys = [settings_key(LintConfig(), None)]
    (site / "newpkg-1.0.dist-info").mkdir()
    keys.append(settings_key(LintConfig(), None))
    (site / "newpkg-1.0.dist-info").rename(site / "newpkg-1.1.dist-info")
    keys.append(settings_key(LintConfig(), None))
    (site / "extra.pth").write_text("/somewhere\n")
    keys.append(settings_key(LintConfig(), None))
    assert len(set(keys)) == 4
