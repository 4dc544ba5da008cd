"""Serving: models kept in the run store, the HTTP service around a notebook's serve cell,
the request schema generated from the training data, and drift monitoring.

Import-light like the rest of nbprod: pandas, skops, FastAPI and uvicorn are imported by the
modules that need them (``profile``, ``serialize``, ``app``), never here.
"""
