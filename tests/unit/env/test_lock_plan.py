"""What a lock pins, read from a receipt alone (no network): the distributions the run needed
at their recorded versions, upgrades left free, local installs as folders with a note, and
uv's errors turned into one line naming the package."""

from __future__ import annotations

import pytest

from nbprod.env.lock import Plan, Sources, _lock_error, plan_for
from nbprod.env.uv import cause
from nbprod.errors import InfrastructureError, LockError


def _receipt(**environment) -> dict:
    base = {
        "python": "3.11.7",
        "index_url": "https://pypi.org/simple",
        "packages": {"pandas": "2.2.2", "numpy": "1.26.4", "ipykernel": "6.29.0",
                     "pytest": "8.0.0", "mypkg": "0.1", "pyarrow": "15.0.0"},
        "needed": ["ipykernel", "mypkg", "numpy", "pandas"],
        "package_sources": {},
    }
    return {"run_id": "20261122T124415Z-3f9a1c", "environment": {**base, **environment}}


def test_only_what_the_run_needed_is_pinned_the_rest_constrains():
    plan = plan_for(_receipt())
    assert plan.requirements == ("ipykernel==6.29.0", "mypkg==0.1", "numpy==1.26.4",
                                 "pandas==2.2.2")
    assert plan.constraints == ("pyarrow==15.0.0", "pytest==8.0.0")
    assert plan.python == "3.11.7" and plan.notes == ()


def test_upgrade_leaves_the_package_free_and_rejects_unknown_names():
    plan = plan_for(_receipt(), ["Pandas", " "])
    assert "pandas" in plan.requirements and plan.upgrade == ("pandas",)
    assert not any(line.startswith("pandas") for line in plan.constraints)
    with pytest.raises(LockError, match=r"--upgrade scipy: run 2026\S+ did not have scipy"):
        plan_for(_receipt(), ["scipy"])


def test_without_the_imports_every_distribution_is_locked_with_a_note():
    plan = plan_for(_receipt(needed=None))
    assert len(plan.requirements) == 6 and plan.constraints == ()
    assert "did not record what its kernel imported" in plan.notes[0]


def test_editable_install_is_its_folder_and_a_missing_folder_is_an_error(tmp_path):
    sources = {"mypkg": {"url": tmp_path.as_uri(), "editable": True, "reproducible": False}}
    plan = plan_for(_receipt(package_sources=sources))
    assert f"-e {tmp_path}" in plan.requirements
    assert "mypkg 0.1 is an editable install of" in plan.notes[0]
    assert "--find-links DIR" in plan.notes[0]
    gone = {"mypkg": {"url": (tmp_path / "gone").as_uri(), "editable": False,
                      "reproducible": False}}
    with pytest.raises(LockError, match="which no longer exists; restore that folder"):
        plan_for(_receipt(package_sources=gone))


def test_a_receipt_without_packages_cannot_be_locked():
    with pytest.raises(LockError, match="its receipt lists no packages"):
        plan_for({"run_id": "r1", "environment": {"error": "boom"}})


def test_sources_become_uv_options(tmp_path):
    assert Sources().uv_args("https://pypi.org/simple/") == []
    assert Sources().uv_args("https://mirror.example/simple") == [
        "--default-index", "https://mirror.example/simple"]
    args = Sources(find_links=(str(tmp_path),), no_index=True, offline=True).uv_args(None)
    assert args == ["--no-index", "--find-links", str(tmp_path.resolve()), "--offline"]


NO_VERSION = """\
  x No solution found when resolving dependencies:
  `-> Because there is no version of scikit-learn==0.0.999 and you require
      scikit-learn==0.0.999, we can conclude that your requirements are unsatisfiable.
"""


def test_uv_resolution_errors_name_the_package():
    assert cause(NO_VERSION) == "there is no version of scikit-learn==0.0.999"
    plan = Plan("r1", "3.11.7", ("numpy==1.26.4", "scikit-learn==0.0.999"), (), None)
    error = _lock_error(plan, Sources(), NO_VERSION)
    assert isinstance(error, LockError)
    assert str(error) == (
        "run r1: cannot lock scikit-learn==0.0.999: there is no version of"
        " scikit-learn==0.0.999 (https://pypi.org/simple); pass --upgrade scikit-learn to take"
        " its newest version, or --find-links DIR with a wheel of it")
    assert isinstance(_lock_error(plan, Sources(), "error: disk full"), InfrastructureError)


def _git(repo, *args):
    import subprocess

    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_the_project_clean_at_a_commit_is_built_from_that_commit(tmp_path):
    repo = tmp_path / "project"
    (repo / "mypkg").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[project]\nname = "mypkg"\nversion = "0.1"\n')
    (repo / "mypkg" / "__init__.py").write_text("ANSWER = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "mypkg" / "__init__.py").write_text("ANSWER = 2\n")  # edited after the run
    sources = {"mypkg": {"url": repo.as_uri(), "editable": True, "reproducible": False}}
    git = {"root": str(repo), "commit": commit, "dirty": False, "untracked": []}
    cache = tmp_path / "cache"

    plan = plan_for(_receipt(package_sources=sources, git=git), cache=cache)
    tree = cache / "sources" / commit
    assert f"mypkg @ {tree.as_uri()}" in plan.requirements
    assert (tree / "mypkg" / "__init__.py").read_text() == "ANSWER = 1\n"
    assert f"built from {repo} at commit {commit[:12]}" in plan.notes[0]

    dirty = plan_for(_receipt(package_sources=sources, git={**git, "dirty": True}),
                     cache=cache)
    assert f"-e {repo}" in dirty.requirements
    assert "the project had uncommitted changes at the run" in dirty.notes[0]


def test_untracked_code_in_the_package_keeps_the_folder(tmp_path):
    sources = {"mypkg": {"url": tmp_path.as_uri(), "editable": True, "reproducible": False}}
    git = {"root": str(tmp_path), "commit": "a" * 40, "dirty": False,
           "untracked": ["mypkg/new.py"]}
    plan = plan_for(_receipt(package_sources=sources, git=git), cache=tmp_path / "cache")
    assert f"-e {tmp_path}" in plan.requirements
    assert not (tmp_path / "cache" / "sources").exists()
