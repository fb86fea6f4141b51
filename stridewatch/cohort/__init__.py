"""Cohort analysis: many recordings, each analysed once, on this process or a Dask cluster.

``run.run_cohort`` analyses inputs with the in-process engine or Dask distributed (a
``LocalCluster``, or an existing scheduler), writes each result as it finishes
(``results.ResultDir``) and the tables ``sessions.parquet``, ``bouts.parquet``,
``steps.parquet`` plus ``sessions.jsonl`` (``tables``), identical whichever engine ran.
"""
