"""The Jupyter server extension: nbprod's JSON API under ``<base_url>/nbprod``.

Jupyter Server finds it through ``nbprod._jupyter_server_extension_points`` and calls
``_load_jupyter_server_extension`` once the server is configured. The routes and the
security model are documented in ``nbprod.server.handlers``.
"""

from __future__ import annotations

import os

__all__ = ["_load_jupyter_server_extension"]


def _load_jupyter_server_extension(server_app) -> None:
    """Register nbprod's routes on the server; paths resolve against its root directory."""
    from .handlers import setup_handlers

    contents = getattr(server_app, "contents_manager", None)
    root = getattr(contents, "root_dir", None) or server_app.root_dir
    setup_handlers(server_app.web_app, os.path.realpath(os.path.expanduser(root)))
    server_app.log.info("nbprod server extension loaded (routes under /nbprod)")
