"""Airflow DAG builders and the in-process runner behind `onceonly run`.

DAG files in ``dags/`` are one line each over the builders here. Nothing heavy is imported
at module level: the scheduler parses DAG files every 30 s.
"""
