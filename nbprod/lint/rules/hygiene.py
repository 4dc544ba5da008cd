"""NB0xx: execution order and hidden state."""

from __future__ import annotations

from ..rule import Rule

__all__ = ["RULES"]


class ExecutionOutOfOrder(Rule):
    """## What it does
    Checks that the code cells were executed top to bottom: each stored execution count is
    higher than the one of the code cell above it.

    ## Why is this bad?
    Outputs saved from an out-of-order session may depend on state that a top-to-bottom
    rerun (papermill, CI, a colleague) never builds. The notebook "works" only on your machine.

    ## Example
    ```python
    # In[2]:
    df = load()

    # In[1]:
    import pandas as pd
    ```

    ## Use instead
    Restart the kernel and run all cells, then save:
    ```python
    # In[1]:
    import pandas as pd

    # In[2]:
    df = load()
    ```
    """

    code = "NB001"
    name = "execution-out-of-order"

    def check(self, ctx):
        previous = None
        for cell in ctx.nb.code_cells:
            count = cell.execution_count
            if count is None:
                continue
            if previous is not None and count <= previous:
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"Cell executed out of order (execution count {count} after {previous});"
                    " restart the kernel and run all cells",
                )
            previous = count


RULES = (ExecutionOutOfOrder,)

