"""Run the checks as one GX checkpoint on the configured target, with Data Docs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onceonly.contract import StreamContract
from onceonly.quality.checks import Check, configured, fails_the_run
from onceonly.settings import Settings
from onceonly.sql import Dialect, sql
from onceonly.targets import dialect as target_dialect
from onceonly.targets import gx_datasource


@dataclass
class CheckOutcome:
    check: Check
    success: bool
    unexpected_count: int
    sample: list[Any] = field(default_factory=list)  # offending values or rows
    error: str | None = None  # GX could not evaluate the check


@dataclass
class CheckpointOutcome:
    outcomes: list[CheckOutcome]
    data_docs: Path | None

    @property
    def errors(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if fails_the_run(o.check.severity, o.success, o.error)]

    @property
    def warnings(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.success and o not in self.errors]

    @property
    def success(self) -> bool:
        return not self.errors


def _expectation(check: Check, dialect: Dialect) -> Any:
    from onceonly.quality.expectations import ExpectNoUnexpectedRows

    return ExpectNoUnexpectedRows(
        unexpected_rows_query=dialect.inline(check.sql),
        description=check.description,
        meta={"check": check.id, "severity": check.severity},
    )


def _outcome(check: Check, result: Any) -> CheckOutcome:
    info = result.exception_info or {}
    raised = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    if info.get("raised_exception") or raised:
        message = (
            info.get("exception_message")
            or (raised[0] if raised else {}).get("exception_message")
            or "GX raised an exception"
        )
        return CheckOutcome(check, False, 0, [], str(message).splitlines()[0])
    r = result.result or {}
    count = int(r.get("observed_value") or 0)
    sample = list((r.get("details") or {}).get("unexpected_rows") or [])
    return CheckOutcome(check, bool(result.success), count, sample)


def _close(source: Any) -> None:
    """Let go of the warehouse: DuckDB allows one configuration per open file, and the
    tasks after the checkpoint open it again in the same process. Closed explicitly, not
    by a garbage collection (0.6 s in a process that has loaded Airflow, dbt and GX)."""
    engines = []
    execution = getattr(source, "_execution_engine", None)
    if execution is not None:
        connection = getattr(execution, "_connection", None)
        if connection is not None:
            connection.close()
            execution._connection = None  # noqa: SLF001
        engines.append(execution.engine)
    if getattr(source, "_engine", None) is not None:
        engines.append(source._engine)  # noqa: SLF001
    for engine in engines:
        engine.dispose()


def run_checkpoint(
    settings: Settings, reports_dir: Path, streams: list[StreamContract]
) -> CheckpointOutcome:
    """One checkpoint over the checks of ``streams``; Data Docs in ``reports_dir``."""
    import great_expectations as gx

    checks = configured(streams, settings.check_severity)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    docs_dir = (reports_dir / "data_docs").resolve()
    context.add_data_docs_site(
        site_name="onceonly",
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
        },
    )
    dialect = target_dialect(settings)
    source = gx_datasource(context, settings)
    by_suite: dict[str, list[Check]] = defaultdict(list)
    for check in checks:
        by_suite[check.suite].append(check)
    definitions = []
    for suite_name, suite_checks in by_suite.items():
        table = suite_checks[0].table
        asset = source.add_query_asset(
            name=suite_name, query=dialect.inline(sql("select * from {t}", t=table))
        )
        batch = asset.add_batch_definition_whole_table(name=f"{suite_name}.all")
        suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
        for check in suite_checks:
            suite.add_expectation(_expectation(check, dialect))
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="onceonly",
            validation_definitions=definitions,
            result_format={"result_format": "COMPLETE"},
        )
    )
    try:
        result = checkpoint.run()
    finally:
        _close(source)
    # once for the whole run: GX's data-docs action builds the site (and compiles its
    # templates) again after each suite
    context.build_data_docs(site_names=["onceonly"])
    by_name = {c.id: c for c in checks}
    outcomes: list[CheckOutcome] = []
    for validation in result.run_results.values():
        for expectation_result in validation.results:
            config = expectation_result.expectation_config
            assert config is not None and config.meta is not None
            name = config.meta["check"]
            outcomes.append(_outcome(by_name[name], expectation_result))
    order = {c.id: i for i, c in enumerate(checks)}
    outcomes.sort(key=lambda o: order[o.check.id])
    index = docs_dir / "index.html"
    return CheckpointOutcome(outcomes, index if index.exists() else None)
