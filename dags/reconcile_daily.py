"""Airflow DAG: Daily full audit and repair of the facts (onceonly.orchestration.reconcile)."""

from onceonly.orchestration.reconcile import reconcile_dag

dag = reconcile_dag()
