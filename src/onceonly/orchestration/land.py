"""land_<stream>: hourly, lands the arrival partitions of its data interval."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Asset, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from onceonly.orchestration.common import TAGS, raw_asset_uri, retry_args
from onceonly.settings import Settings


def land_dag(settings: Settings, stream: str) -> DAG:
    @dag(
        dag_id=f"land_{stream}",
        description=f"Land {stream} files of each arrival hour into raw tables",
        # data intervals, not Airflow 3's default trigger timetable: each run owns one hour
        schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
        start_date=settings.start_date,
        # ONCEONLY_CATCHUP: the scheduler also runs every hour since start_date not run yet
        catchup=settings.catchup,
        max_active_runs=1,
        tags=[*TAGS, "landing", stream],
        default_args=retry_args(settings, 3),
        doc_md=(
            "Lands every file that arrived in the run's data interval into "
            f"`raw.{stream}_events`, with ledger and quarantine. Safe to retry: a file whose "
            "content already landed is skipped and recorded."
        ),
    )
    def landing() -> None:
        @task(task_id="land", outlets=[Asset(raw_asset_uri(stream))])
        def land(**context: Any) -> dict[str, Any]:
            from onceonly.orchestration.tasks import land_interval

            return land_interval(stream, context)

        land()

    return landing()
