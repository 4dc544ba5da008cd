"""Parameters: one vocabulary for every command that takes values for a notebook.

``nbprod run``, sweeps, pipelines, the script and step exports, the pytest plugin and the
JupyterLab server all read a notebook's ``parameters`` cell and the values a user gives the
same way, so the same text means the same value (or the same error) everywhere:

- ``model``: ``Parameter``, a parameter as the pipeline IR and the exports carry it;
- ``cell``: reading a ``parameters`` cell (``lr: float = 0.1  # learning rate``) into them;
- ``coerce``: a notebook's schema and the one coercer of given values, text or data;
- ``files``: values from a YAML or JSON file (``--parameters-file``);
- ``inject``: the injected cell, written from the coerced values as literals only;
- ``redact``: which names hold secrets, and values made safe for receipts and JSON.

This package sits low: it needs only the notebook model, the analysis and the errors.
"""
