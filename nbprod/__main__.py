"""``python -m nbprod``: the same as the ``nbprod`` command."""

from nbprod.cli import main

# Guarded: the worker processes of a local Dask cluster (spawn) import the main module again
# as "__mp_main__"; an unguarded call would run the command once more in every worker.
if __name__ == "__main__":
    main()
