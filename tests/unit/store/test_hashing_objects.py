"""Hashes, the stat cache (changed files, racy mtimes, the restored-mtime blind spot), objects."""

from __future__ import annotations

import os
import stat
import time

import blake3
import pytest

from nbprod.errors import StoreError
from nbprod.store import Store, hashing
from nbprod.store.hashing import RACY_WINDOW_NS, hash_bytes, is_hash


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def reads(monkeypatch):
    """Count the files actually read by the hasher."""
    seen: list[str] = []
    original = hashing._hash_once

    def counting(path, st):
        seen.append(str(path))
        return original(path, st)

    monkeypatch.setattr(hashing, "_hash_once", counting)
    return seen


def _age(path, seconds: float = 10) -> None:
    """Set the mtime in the past, so the cache entry is not racy."""
    past = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(past, past))


def test_hash_format_matches_blake3():
    assert hash_bytes(b"abc") == "blake3:" + blake3.blake3(b"abc").hexdigest()
    assert is_hash(hash_bytes(b""))
    assert not is_hash("sha256:" + "0" * 64) and not is_hash("blake3:xyz")


@pytest.mark.parametrize("size", [0, 10, hashing.MMAP_THRESHOLD + 7])
@pytest.mark.parametrize("age", [0, 10])
def test_hash_file_small_and_large_fresh_and_old(store, tmp_path, size, age):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    _age(path, age)
    assert store.hash_file(path) == (hash_bytes(data), size)
    assert hashing.hash_path(path)[:2] == (hash_bytes(data), size)


def test_only_big_settled_files_are_memory_mapped(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * hashing.MMAP_THRESHOLD)
    st = os.stat(path)
    assert not hashing.use_mmap(st, now_ns=st.st_mtime_ns)  # being written: plain reads
    assert hashing.use_mmap(st, now_ns=st.st_mtime_ns + RACY_WINDOW_NS + 1)
    small = tmp_path / "small.bin"
    small.write_bytes(b"x")
    st = os.stat(small)
    assert not hashing.use_mmap(st, now_ns=st.st_mtime_ns + 10 * RACY_WINDOW_NS)


def test_unchanged_file_comes_from_the_cache(store, tmp_path, reads):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    _age(path)
    first = store.hash_file(path)
    assert store.hash_file(path) == first
    assert store.hash_file(str(path)) == first
    assert len(reads) == 1


def test_changed_file_is_rehashed(store, tmp_path, reads):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    _age(path, 20)
    before = store.hash_file(path)
    path.write_text("a,b\n1,3\n")
    _age(path, 10)
    after = store.hash_file(path)
    assert after != before and after[0] == hash_bytes(b"a,b\n1,3\n")
    assert len(reads) == 2


def test_racy_mtime_is_never_trusted(store, tmp_path, reads):
    path = tmp_path / "fresh.txt"
    path.write_text("v1")
    # An mtime at (or, with a skewed clock, after) the moment the entry is recorded lies within
    # the granularity window, so the entry is never trusted. A future mtime keeps the test
    # independent of how slowly this machine runs.
    future = time.time_ns() + 60 * 10**9
    os.utime(path, ns=(future, future))
    store.hash_file(path)
    store.hash_file(path)
    assert len(reads) == 2
    # Same size, same mtime, new content: the racy rule is what catches this.
    st = os.stat(path)
    path.write_text("v2")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.hash_file(path)[0] == hash_bytes(b"v2")
    entry = store.cache.lookup(os.stat(path))
    assert entry.recorded_ns - entry.mtime_ns <= RACY_WINDOW_NS
    assert not entry.trusted_for(os.stat(path))


def test_restored_mtime_is_the_documented_blind_spot_caught_by_rehash(store, tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"original")
    _age(path)
    original, _ = store.hash_file(path)
    st = os.stat(path)
    path.write_bytes(b"tampered")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.hash_file(path)[0] == original  # the cache cannot see it...
    report = store.verify(rehash=True)
    assert report.rehashed == 1
    [stale] = report.stale_cache_entries  # ...verify --rehash does
    assert stale["actual"] == hash_bytes(b"tampered") and report.problems == 1
    assert store.verify(rehash=True, repair=True).problems == 0
    assert store.hash_file(path)[0] == hash_bytes(b"tampered")


def test_missing_and_vanishing_files_are_clean_errors(store, tmp_path, monkeypatch):
    with pytest.raises(StoreError, match="disappeared before"):
        store.hash_file(tmp_path / "nope.csv")
    with pytest.raises(StoreError, match="not a regular file"):
        store.hash_file(tmp_path)
    for size, age in ((100, 0), (hashing.MMAP_THRESHOLD + 1, 0), (hashing.MMAP_THRESHOLD, 10)):
        path = tmp_path / f"going-{size}-{age}.bin"
        path.write_bytes(b"x" * size)
        _age(path, age)
        original = hashing._hash_once

        def vanish(target, st, original=original):
            os.unlink(target)
            return original(target, st)

        monkeypatch.setattr(hashing, "_hash_once", vanish)
        with pytest.raises(StoreError, match="disappeared while"):
            store.hash_file(path)
        monkeypatch.setattr(hashing, "_hash_once", original)
    # No record claims a hash that was never computed.
    assert store.cache.entries() == []


def test_a_file_that_keeps_changing_is_refused(store, tmp_path, monkeypatch):
    path = tmp_path / "busy.log"
    path.write_text("start")
    original = hashing._hash_once

    def append_while_reading(target, st):
        digest = original(target, st)
        with open(target, "a") as handle:
            handle.write("more")
        return digest

    monkeypatch.setattr(hashing, "_hash_once", append_while_reading)
    with pytest.raises(StoreError, match="kept changing"):
        store.hash_file(path)
    assert store.cache.entries() == []


def test_objects_are_deduplicated_read_only_and_named_by_content(store, tmp_path):
    digest = store.put_bytes(b"payload")
    assert store.put_bytes(b"payload") == digest
    path = store.objects.path_for(digest)
    assert path.read_bytes() == b"payload"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    source = tmp_path / "copy.bin"
    source.write_bytes(b"payload")
    assert store.put_file(source) == digest
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 2**20))
    big_digest = store.put_file(big)
    assert store.objects.path_for(big_digest).read_bytes() == big.read_bytes()
    assert sorted(d for d, _ in store.objects.iter_objects()) == sorted([digest, big_digest])
    assert store.db.query("SELECT COUNT(*) FROM objects")[0][0] == 2
    assert not list(store.path.rglob(".nbprod-tmp-*"))


def test_put_file_errors_and_cache_fast_path(store, tmp_path, reads):
    with pytest.raises(StoreError, match="does not exist"):
        store.put_file(tmp_path / "missing")
    with pytest.raises(StoreError, match="is a folder"):
        store.put_file(tmp_path)
    assert not list(store.path.rglob(".nbprod-tmp-*"))
    path = tmp_path / "in.csv"
    path.write_text("x\n1\n")
    _age(path)
    digest = store.put_file(path)
    assert store.hash_file(path)[0] == digest  # recorded by the copy: no second read
    assert store.put_file(path) == digest
    assert reads == []


def test_bad_object_name_is_refused(store):
    with pytest.raises(StoreError, match="not an object hash"):
        store.objects.path_for("blake3:../../etc/passwd")


def test_put_file_of_a_file_that_keeps_changing_is_refused(store, tmp_path, monkeypatch):
    path = tmp_path / "growing.log"
    path.write_text("start")
    original = store.objects.copy_file

    def copy_then_append(source):
        result = original(source)
        with open(source, "a") as handle:
            handle.write("more")
        return result

    monkeypatch.setattr(store.objects, "copy_file", copy_then_append)
    with pytest.raises(StoreError, match="kept changing while it was being stored"):
        store.put_file(path)
    assert store.cache.entries() == []
