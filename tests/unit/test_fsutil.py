"""Atomic writes and path containment."""

from __future__ import annotations

import os

import pytest

from nbprod.errors import PathError
from nbprod.fsutil import (
    TEMP_PREFIX,
    atomic_write,
    create_temporary,
    folder_lock,
    resolve_inside,
)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "f.txt"
    atomic_write(target, "one")
    atomic_write(target, b"two", mode=0o444)
    assert target.read_bytes() == b"two"
    assert oct(target.stat().st_mode & 0o777) == oct(0o444)
    assert not [p for p in target.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_temporary_file_is_private_named_by_its_writer_and_never_shared(tmp_path, monkeypatch):
    draws = iter([b"\x00" * 6, b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    first_fd, first = create_temporary(tmp_path)
    second_fd, second = create_temporary(tmp_path)  # the same draw first: drawn again
    os.close(first_fd)
    os.close(second_fd)
    assert first != second
    assert os.path.basename(first) == f"{TEMP_PREFIX}{os.getpid()}-000000000000"
    assert os.path.basename(second) == f"{TEMP_PREFIX}{os.getpid()}-010101010101"
    assert oct(os.stat(first).st_mode & 0o777) == oct(0o600)


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


@pytest.mark.parametrize("existing_mode", [0o644, 0o640, 0o755, 0o664, 0o400])
def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path, existing_mode):
    target = tmp_path / "f.txt"
    target.write_text("old")
    os.chmod(target, existing_mode)
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o7777) == oct(existing_mode)


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_a_new_file_the_umask_mode(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.txt", "x")
    finally:
        os.umask(previous)
    assert oct((tmp_path / "new.txt").stat().st_mode & 0o777) == oct(expected)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_atomic_write_keeps_owner_and_group_where_allowed(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    os.chown(target, 4321, 8765)
    os.chmod(target, 0o2640)  # set-gid, which chown would clear
    atomic_write(target, "new")
    info = target.stat()
    assert (info.st_uid, info.st_gid) == (4321, 8765)
    assert oct(info.st_mode & 0o7777) == oct(0o2640)


def test_atomic_write_survives_a_lone_surrogate(tmp_path):
    target = tmp_path / "out.json"
    atomic_write(target, 'ok "\ud800" end')
    assert target.read_bytes().decode("utf-8") == 'ok "\ufffd" end'


def test_folder_lock_makes_the_next_holder_wait_and_writes_nothing(tmp_path):
    import threading

    order: list[str] = []

    def second() -> None:
        with folder_lock(tmp_path):
            order.append("second")

    with folder_lock(tmp_path):
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive()  # blocked while the first holds the lock
        order.append("first")
    waiting.join(timeout=10)
    assert order == ["first", "second"]
    assert list(tmp_path.iterdir()) == []


def test_folder_lock_of_a_missing_folder_locks_nothing(tmp_path):
    with folder_lock(tmp_path / "missing"):
        pass
