"""Environment capture: Python, distributions with PEP 610 sources, kernel spec, git, lockfiles."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys

import pytest

from nbprod.store.environment import canonical_name, capture_environment
from nbprod.store.hashing import hash_bytes


def _dist(site, folder: str, name: str, version: str, direct_url: dict | None = None):
    info = site / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    first, second = tmp_path / "site1", tmp_path / "site2"
    _dist(first, "Zeta_Pkg-1.2.3.dist-info", "Zeta.Pkg", "1.2.3")
    _dist(first, "editable_pkg-0.1.dist-info", "editable-pkg", "0.1",
          {"url": "file:///src/editable", "dir_info": {"editable": True}})
    _dist(first, "local_wheel-2.0.dist-info", "local-wheel", "2.0",
          {"url": "file:///wheels/local_wheel-2.0-py3-none-any.whl", "archive_info": {}})
    _dist(first, "from_git-3.0.dist-info", "from-git", "3.0",
          {"url": "https://example.org/repo.git",
           "vcs_info": {"vcs": "git", "commit_id": "a" * 40}})
    _dist(first, "odd-name-here-1.0.dist-info", "Odd-Name-Here", "1.0")
    _dist(second, "zeta_pkg-9.9.dist-info", "zeta-pkg", "9.9")  # shadowed duplicate
    egg = second / "legacy_thing.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy_thing\nVersion: 0.5\n")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    return first


def test_python_platform_and_packages(fake_site):
    env = capture_environment()
    assert env["python"] == platform.python_version()
    assert env["implementation"]["name"] == sys.implementation.name
    assert env["markers"]["sys_platform"] == sys.platform
    packages = env["packages"]
    assert packages["zeta-pkg"] == "1.2.3"  # first on sys.path wins, name canonicalized
    assert packages["odd-name-here"] == "1.0"
    assert packages["legacy-thing"] == "0.5"
    assert packages["click"] == importlib.metadata.version("click")
    assert list(packages) == sorted(packages)
    assert env["git"] is None and env["lockfiles"] == {} and env["kernel"] is None


def test_pep610_sources_flag_editable_and_local_installs(fake_site):
    env = capture_environment()
    sources = env["package_sources"]
    assert sources["editable-pkg"]["editable"] is True
    assert sources["from-git"] == {"url": "https://example.org/repo.git", "editable": False,
                                   "vcs": "git", "commit": "a" * 40, "reproducible": True}
    assert "editable-pkg" in env["not_reproducible"]
    assert "local-wheel" in env["not_reproducible"]
    assert "from-git" not in env["not_reproducible"] and "zeta-pkg" not in sources


def test_canonical_name():
    assert canonical_name("Foo__Bar.baz-Qux") == "foo-bar-baz-qux"


def test_kernel_spec_from_jupyter_path(tmp_path, monkeypatch):
    kernel_dir = tmp_path / "jp" / "kernels" / "mykernel"
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps(
        {"argv": ["/opt/py/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "My Kernel", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jp"))
    kernel = capture_environment("mykernel")["kernel"]
    assert kernel["display_name"] == "My Kernel"
    assert kernel["argv"][0] == "/opt/py/bin/python"
    assert capture_environment("no-such-kernel")["kernel"]["missing"] is True


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_and_lockfiles(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    git("add", "a.py", "uv.lock")
    git("commit", "-q", "-m", "init")
    clean = capture_environment(project_root=tmp_path)["git"]
    assert len(clean["commit"]) == 40 and clean["dirty"] is False and clean["diff_hash"] is None
    (tmp_path / "a.py").write_text("x = 2\n")
    (tmp_path / "data.csv").write_text("a\n")
    env = capture_environment(project_root=tmp_path)
    assert env["git"]["dirty"] is True and env["git"]["commit"] == clean["commit"]
    assert env["git"]["diff_hash"].startswith("blake3:")
    assert env["git"]["untracked"] == ["data.csv"]
    assert env["lockfiles"] == {"uv.lock": hash_bytes(b"version = 1\n")}
    (tmp_path / "a.py").write_text("x = 3\n")
    assert capture_environment(project_root=tmp_path)["git"]["diff_hash"] != env["git"][
        "diff_hash"]


def test_not_a_git_repository(tmp_path):
    assert capture_environment(project_root=tmp_path)["git"] is None
