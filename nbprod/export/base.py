"""What an exporter is and what it returns: pure ``Notebook -> [Artifact]``, no disk access."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from ..notebook import Notebook
    from .config import Layout

__all__ = ["Artifact", "Exporter"]


@dataclass(frozen=True)
class Artifact:
    """One generated file: where it goes (relative to the project root) and its full text.

    ``kind`` names the exporter that made it ("module", "tests", "steps"); ``notebook`` is the
    notebook path as written in the provenance header.
    """

    path: PurePosixPath
    text: str
    kind: str
    notebook: str


class Exporter(Protocol):
    """Turns a notebook into generated files; registered in ``exporter_registry``.

    Exporters never touch the disk: ``nbprod.export.write`` does, so each exporter is tested
    with golden files alone. Third parties register under the ``nbprod.exporters`` entry-point
    group.
    """

    name: ClassVar[str]

    def export(self, nb: Notebook, layout: Layout) -> list[Artifact]:
        """Return the files this exporter generates for ``nb`` (possibly none)."""
        ...
