"""Notebook tests for pytest: ``pytest --nbprod`` runs each notebook in a fresh kernel.

The pytest plugin (``nbprod.testing.plugin``, registered under the ``pytest11`` entry point)
stays import-light and inert unless ``--nbprod`` is given; the modules that need nbclient are
imported only when a notebook is actually collected.
"""
