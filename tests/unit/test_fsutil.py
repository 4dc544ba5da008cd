"""Atomic writes and path containment."""

from __future__ import annotations

import os

import pytest

from nbprod.errors import PathError
from nbprod.fsutil import TEMP_PREFIX, atomic_write, resolve_inside


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "f.txt"
    atomic_write(target, "one")
    atomic_write(target, b"two", mode=0o444)
    assert target.read_bytes() == b"two"
    assert oct(target.stat().st_mode & 0o777) == oct(0o444)
    assert not [p for p in target.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


@pytest.mark.parametrize(
    "payload",
    ["../x", "a/../../x", "/etc/passwd", "~/x", "C:\\x", "\\\\host\\share", "a\x00b", "..\\x"],
)
def test_resolve_inside_refuses_escapes(tmp_path, payload):
    with pytest.raises(PathError):
        resolve_inside(tmp_path, payload)


def test_resolve_inside_refuses_symlink_out_and_sibling_prefix(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "root-secret").mkdir()
    (root / "link").symlink_to(tmp_path / "root-secret")
    with pytest.raises(PathError):
        resolve_inside(root, "link/file")
    with pytest.raises(PathError):
        resolve_inside(root, "../root-secret/file")
    assert resolve_inside(root, "a/b.txt") == (root / "a" / "b.txt").resolve()
