"""Pipelines: a DAG of steps, planned and executed with content-hash caching."""
