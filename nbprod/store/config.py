"""``[tool.nbprod.store]``: where the run store lives and what it copies."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StoreConfig", "DEFAULT_STORE_DIR"]

#: The store folder, relative to the project root, when nothing else is configured.
DEFAULT_STORE_DIR = ".nbprod"


@dataclass(frozen=True)
class StoreConfig:
    """Settings of the run store, read from ``[tool.nbprod.store]``.

    Parameters
    ----------
    path:
        The store folder, relative to the project root (or absolute).
    copy_data:
        Also copy the input files a run reads into the object store (hashes are always kept).
    copy_outputs_max_bytes:
        Output files up to this size are copied into the object store; larger ones are hashed only.
    """

    path: str = DEFAULT_STORE_DIR
    copy_data: bool = False
    copy_outputs_max_bytes: int = 50 * 2**20

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("'path' must not be empty")
        if self.copy_outputs_max_bytes < 0:
            raise ValueError("'copy-outputs-max-bytes' must be >= 0")
