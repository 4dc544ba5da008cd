"""Pipelines and sweeps: a DAG of steps, planned and executed with content-hash caching.

How the pieces fit, in the order a ``nbprod pipeline run`` uses them::

    config.py        [tool.nbprod.pipeline] / [tool.nbprod.sweep] -> frozen dataclasses
    build.py         both sources (listed notebooks, step: cells) -> one Pipeline (model.py)
    notebook_source  step: cells -> Pipeline + generated module sources, via the exporter
    plan.py          edges, order, --only/--from, -p values; every check before running
    cache.py         a step's key (code, parameters, inputs, upstream keys, environment)
    run.py           cache lookups, tasks, recording each step in the store (client side)
    schedule.py      the dependency loop shared by every executor
    executors.py     where tasks run: local (serial or LocalCluster), dask; the registry
    worker.py        what runs on a worker: one notebook run or one step function
    sweep.py         grid/zip points, sweep files, one run per point
    render.py        the DAG as text, Mermaid, SVG
    exports.py       kfp / airflow / script targets (export_*.py)

Nothing here imports Dask, papermill or kfp at import time.
"""
