"""``python -m nbprod``: the same as the ``nbprod`` command."""

from nbprod.cli import main

main()
