"""Test-time parameters, injected as papermill does: a cell tagged ``injected-parameters``.

The values from ``[tool.nbprod.test.parameters]`` go through the same schema as ``nbprod run``
(``nbprod.params``): types are coerced, unknown names refused with a did-you-mean, and the
injected cell holds literal assignments only. It goes right after the cell tagged
``parameters`` (or replaces an ``injected-parameters`` cell left by an earlier papermill run).
"""

from __future__ import annotations

import copy
from typing import Any

from ..notebook import Notebook
from ..params.coerce import resolve, schema
from ..params.inject import inject

__all__ = ["inject_parameters"]


def inject_parameters(nb: Notebook, parameters: dict[str, Any]) -> tuple[Any, int | None, bool]:
    """A copy of ``nb``'s node with the test parameters injected.

    Parameters
    ----------
    nb:
        The notebook (not modified).
    parameters:
        Name -> value, as read from TOML.

    Returns
    -------
    (node, position, replaced)
        The new nbformat node; the 0-based position of the injected cell (``None`` when there
        was nothing to inject); whether it replaced a stored ``injected-parameters`` cell rather
        than being inserted.

    Raises
    ------
    ParameterError
        When the notebook has no ``parameters`` cell, a name is unknown, or a value does not
        fit the declared type.
    """
    node = copy.deepcopy(nb.node)
    if not parameters:
        return node, None, False
    values = resolve(
        schema(nb), parameters, where=f"{nb.display_path} [tool.nbprod.test.parameters]"
    )
    position = inject(node, values)
    replaced = len(node["cells"]) == len(nb.node["cells"])
    return node, position, replaced
