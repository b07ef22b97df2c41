"""reconcile_daily: the full audit of the facts, and its repair."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, dag, task

from onceonly.orchestration.common import TAGS, retry_args
from onceonly.settings import Settings


def reconcile_dag(settings: Settings) -> DAG:
    @dag(
        dag_id="reconcile_daily",
        description="Find and remove duplicates that slipped past the windowed MERGE, every stream",
        schedule="@daily",
        start_date=settings.start_date,
        catchup=False,
        max_active_runs=1,
        tags=[*TAGS, "reconcile"],
        default_args=retry_args(settings, 2),
    )
    def reconcile() -> None:
        @task(task_id="audit_and_repair")
        def audit_and_repair() -> dict[str, Any]:
            from onceonly.orchestration.tasks import audit_facts

            return audit_facts(repair=True)

        audit_and_repair()

    return reconcile()
