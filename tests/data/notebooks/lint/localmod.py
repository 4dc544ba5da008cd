"""A module beside the notebooks: a local import, not a dependency."""
