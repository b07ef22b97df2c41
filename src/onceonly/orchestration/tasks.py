"""What the DAG tasks do, as plain functions of the Airflow context (imported lazily)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from onceonly.errors import OnceOnlyError
from onceonly.faults import maybe_fail
from onceonly.settings import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def scheduled(work: Callable[P, R]) -> Callable[P, R]:
    """A task body whose terminal errors fail the task at once (a retry cannot help: a
    bad setting, a missing folder, a failed verdict); transient ones (a lost connection,
    a locked file, an injected fault) are raised for Airflow to retry."""

    @functools.wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return work(*args, **kwargs)
        except OnceOnlyError as exc:
            if exc.transient:
                raise
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc

    return run


def settings_for_task() -> Settings:
    """Settings from env vars; PostgreSQL credentials may come from an Airflow connection
    named by ONCEONLY_PG_CONN_ID (e.g. AIRFLOW_CONN_ONCEONLY_POSTGRES)."""
    return Settings.from_env().with_connections()


def interval(context: dict[str, Any]) -> tuple[datetime, datetime]:
    """What a landing run lands: the span its conf names (``start``, ``end``: what
    `onceonly run` passes), else its data interval, else (a run triggered with no logical
    date has none) the last whole hour before the run was due."""
    dag_run = context.get("dag_run")
    conf = (dag_run.conf if dag_run is not None else None) or {}
    start = conf.get("start") or context.get("data_interval_start")
    end = conf.get("end") or context.get("data_interval_end")
    if start is None or end is None:
        due = utc(dag_run.run_after if dag_run is not None else datetime.now(UTC))
        end = due.replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=1)
    return utc(start), utc(end)


def utc(t: datetime | str) -> datetime:
    """A naive UTC time, from an aware or ISO time (naive: taken as UTC already)."""
    t = datetime.fromisoformat(t) if isinstance(t, str) else t
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _stream(settings: Settings, stream: str):  # type: ignore[no-untyped-def]
    return settings.streams()[stream]


@scheduled
def land_interval(stream: str, context: dict[str, Any]) -> dict[str, Any]:
    from onceonly.landing import land
    from onceonly.targets import open_target

    settings = settings_for_task()
    start, end = interval(context)
    warehouse = open_target(settings)
    try:
        summary = land(
            settings.landing,
            warehouse,
            _stream(settings, stream),
            start,
            end,
            memory_limit=settings.duckdb_memory_limit,
            limits=settings.limits,
        )
    finally:
        warehouse.close()
    # the rows are committed: a failure from here on is a lost ack, and the retry must
    # find the files already landed (skipped by content), never land them twice
    maybe_fail(settings.fault_points, "after_landing", int(context["ti"].try_number))
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "files_landed": summary.count("landed"),
        "files_skipped": summary.count("skipped"),
        "files_rejected": summary.count("rejected"),
        "rows_landed": summary.total("landed"),
        "lines_quarantined": summary.total("quarantined"),
    }


@scheduled
def audit_facts(repair: bool) -> dict[str, Any]:
    """The full audit (and repair) of every declared stream's facts; a stream not built
    yet is left out, saying so."""
    from onceonly import reconcile
    from onceonly.findings import findings, unbuilt
    from onceonly.targets import open_target

    settings = settings_for_task()
    out: dict[str, Any] = {}
    warehouse = open_target(settings)
    try:
        for contract in settings.streams().values():
            problem = unbuilt(warehouse, contract) or reconcile.not_audited(contract)
            if problem is not None:
                log.info("not audited: %s", problem)
                out[contract.stream] = {"not_audited": problem}
                continue
            audit = reconcile.repair if repair else reconcile.audit
            result = audit(warehouse, contract)
            out[contract.stream] = {
                "duplicate_rows": result.extra_rows,
                "removed": result.removed,
                **findings(warehouse, contract),
            }
    finally:
        warehouse.close()
    return out


@scheduled
def run_data_quality(stream: str) -> dict[str, Any]:
    from onceonly.report.build import run_checks

    settings = settings_for_task()
    return run_checks(settings, [_stream(settings, stream)])


@scheduled
def write_report(stream: str, checked: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
    from onceonly.report.build import build_report, failed_checks

    settings = settings_for_task()
    report = build_report(settings, [_stream(settings, stream)], checked=checked, attempt=attempt)
    return {
        "index": str(report.index),
        "summary": str(report.summary),
        "held": report.held,
        "failed_checks": failed_checks(checked["checks"]),
    }


@scheduled
def enforce_verdict(written: dict[str, Any]) -> None:
    if written["failed_checks"]:
        raise OnceOnlyError(
            "error-severity checks failed: "
            + ", ".join(written["failed_checks"])
            + f"; see {written['index']}"
        )


@scheduled
def relay_outbox(stream: str) -> dict[str, Any]:
    from onceonly import relay
    from onceonly.faults import maybe_kill

    settings = settings_for_task()
    points = settings.fault_points
    contract = _stream(settings, stream)
    con = relay.connect(settings, contract)
    try:
        done = relay.relay(
            con,
            contract,
            settings.landing_folder,
            fault=lambda point: maybe_kill(points, point),
        )
    finally:
        con.close()
    if done.waiting:
        log.warning(
            "%s: %d rows wait behind a transaction open for %.0f s",
            stream,
            done.waiting,
            done.held_back_seconds or 0,
        )
    return {
        "rows_relayed": done.rows,
        "files": [str(p) for p in done.files],
        "rows_waiting": done.waiting,
        "delay_seconds": done.delay_seconds,
        "lag_seconds": done.lag_seconds,
    }
