"""Pin the distributions some code needs, at the versions a run's receipt recorded.

``pinned_requirements(imports, environment)`` is the one entry point: from top-level import
names (``sklearn``, ``nbprod``...) it finds the installed distributions that provide them,
follows their ``Requires-Dist`` (markers evaluated here, extras only where asked for) to the
full set they need, and pins each to the version in the receipt's ``environment.packages``.
A distribution the receipt records as installed from a local path or a VCS URL is written as
``name @ url``, since no index has that code. Kept to this one function so that locking a
run's whole environment can share it.
"""

from __future__ import annotations

import importlib.metadata
import re

from ..store.environment import canonical_name

__all__ = ["pinned_requirements"]

_EXTRA = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([^\]]*)\])?$")


def pinned_requirements(imports: list[str], environment: dict) -> list[str]:
    """Requirement lines (sorted, one per distribution) for code importing ``imports``.

    Parameters
    ----------
    imports:
        Top-level module names, optionally with extras of their distribution written as
        ``nbprod[serve]`` (the extras' requirements are included too).
    environment:
        A receipt's ``environment`` (``packages``: name -> version, ``package_sources``).

    Returns
    -------
    list[str]
        ``name==version`` or ``name @ url`` lines; a distribution the receipt did not record
        is pinned at the version installed here, with a comment saying so.
    """
    from packaging.requirements import Requirement

    providers = importlib.metadata.packages_distributions()
    wanted: dict[str, set[str]] = {}
    for item in imports:
        match = _EXTRA.match(item)
        if not match:
            continue
        module, extras = match.group(1), match.group(2)
        # An editable install maps no module in packages_distributions: try the name itself.
        for dist in providers.get(module) or [module]:
            wanted.setdefault(canonical_name(dist), set()).update(
                e.strip() for e in (extras or "").split(",") if e.strip())
    closure: dict[str, set[str]] = {}
    queue = list(wanted.items())
    while queue:
        name, extras = queue.pop()
        known = closure.get(name)
        if known is not None and extras <= known:
            continue
        closure[name] = (known or set()) | extras
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is not None and not any(
                    marker.evaluate({"extra": extra}) for extra in ("", *closure[name])):
                continue
            queue.append((canonical_name(requirement.name), set(requirement.extras)))
    packages = environment.get("packages") or {}
    sources = environment.get("package_sources") or {}
    lines = []
    for name in sorted(closure):
        source = sources.get(name) or {}
        if not source.get("reproducible", True) and source.get("url"):
            lines.append(f"{name} @ {source['url']}")
        elif name in packages:
            lines.append(f"{name}=={packages[name]}")
        else:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
            lines.append(f"{name}=={version}  # not in the receipt: the version installed here")
    return lines
