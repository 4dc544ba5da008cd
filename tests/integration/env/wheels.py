"""Wheels for tests that must not use the network: a small package written from source, and
wheels repacked from distributions installed in this interpreter (for ipykernel and what it
needs), served to uv from a local folder with ``--find-links``."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

from nbprod.store.interpreter import describe, needed_distributions

_SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def _digest(data: bytes) -> str:
    raw = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _write(path: Path, info_dir: str, files: dict[str, bytes]) -> Path:
    record = [f"{name},{_digest(data)},{len(data)}" for name, data in files.items()]
    record.append(f"{info_dir}/RECORD,,")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{info_dir}/RECORD", "\n".join(record) + "\n")
    return path


def source_wheel(folder: Path, name: str, version: str, modules: dict[str, str]) -> Path:
    """A pure-Python wheel of ``name`` holding ``modules`` (file name -> source)."""
    info = f"{name}-{version}.dist-info"
    files = {path: text.encode() for path, text in modules.items()}
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 ).encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: nbprod-tests\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{info}/top_level.txt"] = "\n".join(sorted({p.split("/")[0].removesuffix(".py")
                                                        for p in modules})).encode()
    return _write(folder / f"{name}-{version}-py3-none-any.whl", info, files)


def repack(folder: Path, name: str) -> Path:
    """The installed distribution ``name`` as a wheel again (scripts and caches left out)."""
    dist = importlib.metadata.distribution(name)
    files: dict[str, bytes] = {}
    info_dir = ""
    for entry in dist.files or []:
        parts = entry.parts
        if parts[0] == ".." or "__pycache__" in parts:
            continue
        if parts[0].endswith(".dist-info"):
            info_dir = parts[0]
            if parts[-1] in _SKIPPED:
                continue
        files[entry.as_posix()] = Path(dist.locate_file(entry)).read_bytes()
    tags = [line.split(":", 1)[1].strip() for line in
            files[f"{info_dir}/WHEEL"].decode().splitlines() if line.startswith("Tag:")]
    parts = [".".join(dict.fromkeys(tag.split("-")[i] for tag in tags)) for i in range(3)]
    stem = info_dir.removesuffix(".dist-info")
    return _write(folder / f"{stem}-{'-'.join(parts)}.whl", info_dir, files)


def kernel_wheelhouse(folder: Path) -> list[str]:
    """Wheels of ipykernel and everything it requires, from this interpreter; their names."""
    names = needed_distributions(["ipykernel"], describe())
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        repack(folder, name)
    return names
