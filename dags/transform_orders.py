"""Airflow DAG: dbt (via Cosmos), checks and report after each orders landing.

Built by onceonly.orchestration.transform.
"""

from onceonly.orchestration.transform import transform_dag

dag = transform_dag("orders")
