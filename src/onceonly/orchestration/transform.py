"""transform_<stream>: on each landing, dbt through Cosmos, then checks and the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, dag, task

from onceonly.contract import Guarantee, StreamContract
from onceonly.orchestration.alerts import verdict_notifiers
from onceonly.orchestration.common import TAGS, raw_asset_uri, retry_args
from onceonly.settings import Settings


def dbt_task_group(
    settings: Settings,
    contract: StreamContract,
    manifest: Path,
    model_tags: frozenset[str],
    group_id: str = "dbt",
) -> Any:
    """The stream's slice of the dbt project (its derived models and the marts tagged
    ``stream:<name>``) as one dbt invocation per step, run by Cosmos' operators: ``run``
    (every model, retried) then ``test`` (every test, not retried: a failed test is a
    finding); an exactly_once stream has one ``build`` instead, in which each model's
    tests run before the models that read it, so the batch's audit runs before the
    facts take the batch in and a failing one stops them (write-audit-publish).

    One invocation per step rather than one per model: each dbt invocation, and under a
    scheduler each task's process, costs seconds whatever the data ("A scheduled hourly
    cycle" in benchmarks/README.md). The models are incremental and safe to rerun, so a
    retry of the whole step is safe; a build's retry runs the write again, which first
    deletes the unpublished one. ``model_tags``: every model tag of ``manifest``."""
    import shutil
    import sys

    from airflow.sdk import TaskGroup
    from cosmos import settings as cosmos_settings
    from cosmos.constants import InvocationMode
    from cosmos.operators.local import (
        DbtBuildLocalOperator,
        DbtRunLocalOperator,
        DbtTestLocalOperator,
    )

    from onceonly.errors import ConfigError

    tag = f"stream:{contract.stream}"
    if tag not in model_tags:
        raise ConfigError(
            f"{manifest} has no dbt models tagged {tag}: run `onceonly streams "
            "generate` after adding or changing a declaration"
        )
    project = settings.dbt_project_dir
    common: dict[str, Any] = {
        "project_dir": str(project),
        "profile_config": profile_config(settings),
        "select": f"tag:{tag}",
        "invocation_mode": InvocationMode.DBT_RUNNER,
        "dbt_executable_path": shutil.which("dbt") or str(Path(sys.executable).with_name("dbt")),
        "install_deps": False,
        "emit_datasets": False,  # the landing's raw Asset is what schedules this DAG
    }
    if cosmos_settings.enable_cache and cosmos_settings.enable_cache_partial_parse:
        # where Cosmos' own DbtTaskGroup keeps dbt's partial parse: each step starts from
        # the last one's instead of parsing the whole project again (seconds per step)
        common["cache_dir"] = cosmos_settings.cache_dir / f"transform_{contract.stream}__{group_id}"
    with TaskGroup(group_id=group_id) as group:
        if contract.guarantee == Guarantee.EXACTLY_ONCE:
            DbtBuildLocalOperator(task_id="build", **common, **retry_args(settings, 2))
        else:
            models = DbtRunLocalOperator(task_id="run", **common, **retry_args(settings, 2))
            checks = DbtTestLocalOperator(task_id="test", **common, **retry_args(settings, 0))
            models >> checks
    return group


def profile_config(settings: Settings) -> Any:
    """dbt's profile under Cosmos: from the target's Airflow connection where the settings
    name one (Cosmos' profile mapping, its password handed to dbt as an environment
    variable, never written); otherwise dbt_project/profiles.yml, which reads the
    ONCEONLY_* variables."""
    from cosmos import ProfileConfig

    from onceonly.targets import cosmos_profile_mapping

    mapping = cosmos_profile_mapping(settings)
    if mapping is not None:
        return ProfileConfig(
            profile_name="onceonly", target_name=settings.target, profile_mapping=mapping
        )
    return ProfileConfig(
        profile_name="onceonly",
        target_name=settings.target,
        profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
    )


def transform_dag(
    settings: Settings, contract: StreamContract, manifest: Path, model_tags: frozenset[str]
) -> DAG:
    """transform_<stream>; ``manifest`` and ``model_tags`` as in :func:`dbt_task_group`."""
    stream = contract.stream

    @dag(
        dag_id=f"transform_{stream}",
        description=f"Deduplicate landed {stream} copies into exactly-once facts, then check",
        schedule=[Asset(raw_asset_uri(stream))],
        start_date=settings.start_date,
        catchup=False,
        max_active_runs=1,
        tags=[*TAGS, "transform", stream],
        default_args=retry_args(settings, 2),
    )
    def transform() -> None:
        models = dbt_task_group(settings, contract, manifest, model_tags)

        # after the models whatever their outcome: a failed dbt test (an exactly_once batch
        # held back by its audit) still gets checked and reported; the run fails anyway
        @task(task_id="data_quality", retries=0, trigger_rule="all_done")
        def data_quality() -> dict[str, Any]:
            """The Great Expectations checkpoint (with Data Docs); its outcome as data."""
            from onceonly.orchestration.tasks import run_data_quality

            return run_data_quality(stream)

        @task(task_id="report", retries=2)
        def report(checked: dict[str, Any], **context: Any) -> dict[str, Any]:
            """The analyst report (reports/<stream>/index.html, and the index)."""
            from onceonly.orchestration.tasks import write_report

            return write_report(stream, checked, int(context["ti"].try_number))

        @task(
            task_id="verdict",
            retries=0,
            on_failure_callback=verdict_notifiers(settings, stream) or None,
        )
        def verdict(written: dict[str, Any]) -> None:
            """Fails the run when an error-severity check failed (after the report exists)."""
            from onceonly.orchestration.tasks import enforce_verdict

            enforce_verdict(written)

        checked = data_quality()
        models >> checked
        verdict(report(checked))  # type: ignore[arg-type]

    return transform()
