"""Run reports: any run, sweep or pipeline as one self-contained HTML page.

``context`` takes what a page says from receipts, ``charts`` draws the static SVG charts,
``render`` lays them out with the templates in ``templates/report/`` (nbconvert renders the
executed notebook). Used by ``nbprod runs report``, ``nbprod sweep --report``, the pytest
plugin's ``--nbprod-report`` and the JupyterLab Runs section.
"""

from __future__ import annotations

from .render import notebook_page, report, resolve_runs

__all__ = ["notebook_page", "report", "resolve_runs"]
