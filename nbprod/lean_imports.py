"""Leave out, in nbprod's own command-line process, import-time work nbprod never uses.

``import nbformat`` imports jsonschema, whose format checkers import ``rfc3987_syntax`` when
it is installed (the Jupyter server stack brings it): that module builds about 40 Lark
grammars when it is imported, roughly a second of CPU paid by every ``nbprod run``, sweep and
pipeline, for a checker of the JSON Schema ``iri`` and ``iri-reference`` formats. Neither
nbformat's notebook schema nor anything else nbprod validates uses those formats.

``skip_iri_grammars`` marks the module as absent (``None`` in ``sys.modules``), which
jsonschema treats as "not installed": it then simply registers no ``iri`` checker. This is done
only in the process the ``nbprod`` command starts, before anything imported jsonschema, and
never in a process nbprod does not own (a Jupyter server, a kernel, a user's own Python):
there a schema with an ``iri`` format would silently go unchecked.
"""

from __future__ import annotations

import sys

__all__ = ["skip_iri_grammars"]

SKIPPED = "rfc3987_syntax"


def skip_iri_grammars() -> bool:
    """Keep jsonschema from importing ``rfc3987_syntax``; True when it took effect."""
    if "jsonschema" in sys.modules or SKIPPED in sys.modules:
        return False  # too late (or already decided): change nothing
    sys.modules[SKIPPED] = None  # type: ignore[assignment]
    return True
