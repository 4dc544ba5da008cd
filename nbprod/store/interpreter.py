"""Describe a Python interpreter: version, platform tags and installed distributions.

This module uses the standard library only, because it also runs as a script inside another
interpreter: a kernel whose spec points at a different Python (an isolated environment built
by ``nbprod reproduce --isolated``, a conda env) is described by running this file there
(``python -I interpreter.py``), which prints the description as JSON. Inside the process
running nbprod it is simply imported.

A wheel-installed distribution's name and version are read from its ``<name>-<version>
.dist-info`` folder name, which the wheel spec guarantees; only unusual layouts fall back to
parsing the METADATA file. Editable and local-path installs (PEP 610 ``direct_url.json``) are
marked not reproducible, because their code can change without their version changing.

Besides what the receipt keeps, ``describe`` returns two private tables (``_modules``: top-level
module -> distributions providing it, ``_requires``: distribution -> requirement strings) from
which ``needed_distributions`` works out what a run needed from the modules its kernel imported.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import sys
import sysconfig

__all__ = ["canonical_name", "describe", "needed_distributions"]

_VERSION = re.compile(r"^[0-9][^-]*$")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"\bextra\s*==")


def canonical_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def describe(private: bool = True) -> dict:
    """This interpreter and its distributions, as JSON data.

    ``private`` adds ``_modules`` and ``_requires`` (not for the receipt: see
    ``needed_distributions``).
    """
    packages, sources, modules, requires = _distributions(private)
    info = {
        "python": platform.python_version(),
        "implementation": {
            "name": sys.implementation.name,
            "version": ".".join(str(part) for part in sys.implementation.version[:3]),
        },
        "executable": sys.executable,
        "platform": _platform(),
        "tags": _tags(),
        "markers": _markers(),
        "packages": packages,
        "package_sources": sources,
        "not_reproducible": sorted(
            name for name, source in sources.items() if not source["reproducible"]
        ),
    }
    if private:
        info["_modules"] = modules
        info["_requires"] = requires
    return info


def needed_distributions(imported: list[str], description: dict) -> list[str]:
    """The distributions a run needed: those providing the top-level modules its kernel
    imported, and everything they require (transitively) that is installed.

    Requirements under an extra are not followed (an extra's modules, when used, were imported
    and count by themselves); environment markers are not evaluated, so a requirement that is
    installed counts even where its marker would exclude it: a small superset, never a gap.
    """
    packages = description.get("packages") or {}
    modules = description.get("_modules") or {}
    requires = description.get("_requires") or {}
    todo = []
    for name in imported:
        owners = modules.get(name) or []
        if not owners and canonical_name(name) in packages:
            owners = [name]  # editable installs map no module; their name usually is one
        todo.extend(canonical_name(owner) for owner in owners)
    needed: set[str] = set()
    while todo:
        name = todo.pop()
        if name in needed or name not in packages:
            continue
        needed.add(name)
        for requirement in requires.get(name) or []:
            head, _, marker = requirement.partition(";")
            if _EXTRA_MARKER.search(marker):
                continue
            match = _REQUIREMENT_NAME.match(head)
            if match:
                todo.append(canonical_name(match.group(1)))
    return sorted(needed)


# -- Python and platform ------------------------------------------------------------------------


def _platform() -> str:
    uname = platform.uname()
    libc = ""
    if hasattr(os, "confstr"):
        try:
            libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError):
            libc = ""
    text = f"{uname.system}-{uname.release}-{uname.machine}"
    return f"{text}-{libc.replace(' ', '')}" if libc else text


def _tags() -> dict:
    """The wheel tags this interpreter installs, most specific first (PEP 425/600): enough
    to tell whether a lock's wheels fit another machine."""
    version = "".join(platform.python_version_tuple()[:2])
    prefix = {"cpython": "cp", "pypy": "pp"}.get(sys.implementation.name, "py")
    soabi = sysconfig.get_config_var("SOABI") or ""
    threaded = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    platforms = [plat]
    libc, libc_version = platform.libc_ver()
    if sys.platform.startswith("linux") and libc == "glibc" and libc_version:
        major, _, minor = libc_version.partition(".")
        machine = platform.machine()
        platforms.insert(0, f"manylinux_{major}_{minor.split('.')[0]}_{machine}")
    return {
        "interpreter": f"{prefix}{version}",
        "abi": f"cp{version}{threaded}" if prefix == "cp" else soabi.split("-")[0] or "none",
        "platform": platforms,
    }


def _markers() -> dict:
    # The PEP 508 environment markers, the same set `pip inspect` reports.
    uname = platform.uname()
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": ".".join(str(p) for p in sys.implementation.version[:3]),
        "os_name": os.name,
        "platform_machine": uname.machine,
        "platform_release": uname.release,
        "platform_system": uname.system,
        "platform_version": uname.version,
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


# -- distributions ------------------------------------------------------------------------------


def _name_version(dist: importlib.metadata.Distribution) -> tuple[str, str]:
    folder = getattr(dist, "_path", None)  # PathDistribution's folder; absent for other finders
    if folder is not None and folder.name.endswith(".dist-info"):
        stem = folder.name[: -len(".dist-info")]
        if stem.count("-") == 1:
            name, version = stem.split("-")
            if _VERSION.match(version):
                return name, version
    return dist.metadata["Name"] or "", dist.version or ""


def _source(dist: importlib.metadata.Distribution) -> dict | None:
    try:
        text = dist.read_text("direct_url.json")
    except OSError:
        return None
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return {"url": None, "editable": False, "reproducible": False, "error": "bad direct_url"}
    url = str(info.get("url", ""))
    editable = bool((info.get("dir_info") or {}).get("editable"))
    vcs = info.get("vcs_info") or {}
    source = {"url": url, "editable": editable}
    if vcs:
        source.update(vcs=vcs.get("vcs"), commit=vcs.get("commit_id"))
    archive = info.get("archive_info") or {}
    if archive.get("hashes") or archive.get("hash"):
        source["hashes"] = archive.get("hashes") or {"legacy": archive.get("hash")}
    # Editable and local paths can change under the same version: not reproducible elsewhere.
    source["reproducible"] = not editable and not url.startswith("file:")
    return source


def _top_level(dist: importlib.metadata.Distribution) -> list[str]:
    """The top-level importable names a distribution installs (top_level.txt, else RECORD).

    RECORD is read as text and only each line's first path part is looked at: building
    ``dist.files`` objects for big distributions costs ten times more.
    """
    text = None
    try:
        text = dist.read_text("top_level.txt")
    except OSError:
        pass
    if text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    try:
        record = dist.read_text("RECORD") or ""
    except OSError:
        return []
    names = set()
    for line in record.splitlines():
        path = line.split(",", 1)[0]
        head, slash, _ = path.partition("/")
        if slash:
            if not head.endswith((".dist-info", ".data")) and head != "..":
                names.add(head)
        elif head.endswith(".py"):
            names.add(head[:-3])
        elif head.endswith((".so", ".pyd", ".pth")):
            names.add(head.split(".")[0])
    names.discard("__pycache__")
    return sorted(names)


def _requirements(dist: importlib.metadata.Distribution) -> list[str]:
    """The ``Requires-Dist`` lines of a distribution's METADATA headers, read as text (the
    e-mail parser behind ``dist.requires`` costs most of a capture)."""
    try:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        if not line:
            break  # the end of the headers (folded lines start with a space, never empty)
        if line[:14].lower() == "requires-dist:":
            found.append(line[14:].strip())
    return found


def _distributions(private: bool):
    packages: dict[str, str] = {}
    sources: dict[str, dict] = {}
    modules: dict[str, list[str]] = {}
    requires: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions():
        name, version = _name_version(dist)
        if not name:
            continue
        key = canonical_name(name)
        if key in packages:
            continue  # shadowed by an earlier sys.path entry, as the import system does
        packages[key] = version
        source = _source(dist)
        if source is not None:
            sources[key] = source
        if private:
            for module in _top_level(dist):
                modules.setdefault(module, []).append(key)
            requires[key] = _requirements(dist)
    return dict(sorted(packages.items())), dict(sorted(sources.items())), modules, requires


if __name__ == "__main__":
    json.dump(describe(), sys.stdout)
