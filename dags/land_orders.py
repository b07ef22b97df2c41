"""Airflow DAG: hourly landing of the orders stream into raw tables.

Built by onceonly.orchestration.land.
"""

from onceonly.orchestration.land import land_dag

dag = land_dag("orders")
