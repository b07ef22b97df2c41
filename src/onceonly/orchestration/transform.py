"""transform_<stream>: on each landing, dbt through Cosmos, then checks and the report."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Asset, dag, task

from onceonly.orchestration.alerts import verdict_notifiers
from onceonly.orchestration.common import TAGS, raw_asset_uri, retry_args, start_date
from onceonly.settings import Settings


def dbt_task_group(stream: str, group_id: str = "dbt") -> Any:
    """The stream's slice of the dbt project (its derived models and the marts tagged
    ``stream:<name>``) as Airflow tasks: models retried, tests not."""
    import shutil
    import sys
    from pathlib import Path

    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    from onceonly.contract import Guarantee

    settings = Settings.from_env()
    declared = settings.streams().get(stream)
    # exactly_once: each model is built with its tests in one task (`dbt build` of the
    # model), so the batch's audit runs before the facts take the batch in and a failing
    # one stops them (write-audit-publish). One dbt invocation per model instead of two
    # (a model task, then a test task): see "The fixed cost of a run" in
    # benchmarks/README.md. Such a task is retried as a whole: a
    # failing audit runs again with its write (which first deletes the unpublished one)
    # before the run fails.
    gated = declared is not None and declared.guarantee == Guarantee.EXACTLY_ONCE
    project = settings.dbt_project_dir
    manifest = project / "target" / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest} is missing: run `onceonly streams generate` first (it writes the "
            "streams' models and dbt's manifest)"
        )
    dbt = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=project, manifest_path=manifest, install_dbt_deps=False
        ),
        profile_config=profile_config(settings),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=dbt,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=[f"tag:stream:{stream}"],
            test_behavior=TestBehavior.BUILD if gated else TestBehavior.AFTER_ALL,
            emit_datasets=False,  # the landing's raw Asset is what schedules this DAG
        ),
        operator_args=retry_args(2),
    )
    if not group.children:
        from onceonly.errors import ConfigError

        raise ConfigError(
            f"{manifest} has no dbt models tagged stream:{stream}: run `onceonly streams "
            "generate` after adding or changing a declaration"
        )
    for operator in group.children.values():
        _no_retry_for_tests(operator)
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


def _no_retry_for_tests(node: Any) -> None:
    """A failed test is a finding, not a transient fault: run it once."""
    children = getattr(node, "children", None)
    if children:
        for child in children.values():
            _no_retry_for_tests(child)
    elif "Test" in type(node).__name__:
        node.retries = 0


def transform_dag(stream: str) -> DAG:
    @dag(
        dag_id=f"transform_{stream}",
        description=f"Deduplicate landed {stream} copies into exactly-once facts, then check",
        schedule=[Asset(raw_asset_uri(stream))],
        start_date=start_date(),
        catchup=False,
        max_active_runs=1,
        tags=[*TAGS, "transform", stream],
        default_args=retry_args(2),
    )
    def transform() -> None:
        models = dbt_task_group(stream)

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
            on_failure_callback=verdict_notifiers(Settings.from_env(), stream) or None,
        )
        def verdict(written: dict[str, Any]) -> None:
            """Fails the run when an error-severity check failed (after the report exists)."""
            from onceonly.orchestration.tasks import enforce_verdict

            enforce_verdict(written)

        checked = data_quality()
        models >> checked
        verdict(report(checked))  # type: ignore[arg-type]

    return transform()
