"""Serving: the model registry over the run store, the HTTP service around a notebook's serve
cell, the request schema generated from the training profile, and drift monitoring.

Models get into the store lower down, during a run (``nbprod.run.models``, with the profile
of ``run.training_profile`` and the bytes of ``store.model_bytes``); this package reads them.
Import-light like the rest of nbprod: pandas, FastAPI and uvicorn are imported by the modules
that need them (``app``, ``schema``, ``drift``), never here.
"""
