"""Pipelines and sweeps: a DAG of steps, planned and executed with content-hash caching.

How the pieces fit, in the order a ``nbprod pipeline run`` uses them::

    config.py        [tool.nbprod.pipeline] / [tool.nbprod.sweep] -> frozen dataclasses
    build.py         both sources (listed notebooks, step: cells) -> one Pipeline
                     (the IR, ``nbprod/pipeline_ir.py``, below export and here)
    notebook_source  step: cells -> Pipeline + generated module sources, via the exporter
    plan.py          edges, order, --only/--from, -p values; every check before running
    cache.py         a step's key (code, parameters, inputs, upstream keys, environment)
    orchestrate.py   cache lookups, tasks, recording each step in the store (client side)
    schedule.py      the dependency loop shared by every executor
    executors.py     where tasks run: local (serial or LocalCluster), dask; the registry
    worker.py        what runs on a worker: one notebook run or one step function
    sweep.py         grid/zip points, sweep files, one run per point
    render.py        the DAG as text, Mermaid, SVG
    targets.py       orchestrator targets: kfp / airflow / script (target_*.py); not to be
                     confused with ``nbprod.export``, which turns a notebook into files

Nothing here imports Dask, papermill or kfp at import time.
"""
