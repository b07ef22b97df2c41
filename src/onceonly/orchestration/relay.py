"""relay_<stream>: every five minutes, an outbox stream's committed rows into its landing
zone (the landing DAG lands them with the hour they arrived in)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from onceonly.orchestration.common import TAGS, retry_args
from onceonly.settings import Settings


def relay_dag(settings: Settings, stream: str) -> DAG:
    @dag(
        dag_id=f"relay_{stream}",
        description=f"Relay {stream} rows of its PostgreSQL outbox into the landing zone",
        schedule=CronTriggerTimetable("*/5 * * * *", timezone="UTC"),
        start_date=settings.start_date,
        catchup=False,
        max_active_runs=1,  # one relay per outbox: its cursor has one writer
        tags=[*TAGS, "relay", stream],
        default_args=retry_args(settings, 3, warehouse=False),  # writes files, not the warehouse
        doc_md=(
            f"Writes `{stream}`'s outbox rows past the relay's cursor as a landing file and "
            "manifest, durable before the cursor moves; rows of a transaction still open "
            "wait, never skipped. Safe to retry: a crash costs a re-delivery at most."
        ),
    )
    def relaying() -> None:
        @task(task_id="relay")
        def run_relay(**context: Any) -> dict[str, Any]:
            from onceonly.orchestration.tasks import relay_outbox

            return relay_outbox(stream)

        run_relay()

    return relaying()
