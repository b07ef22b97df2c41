"""A check's unexpected rows, counted and sampled by one query in the warehouse.

GX's ``UnexpectedRowsExpectation`` runs its query twice: once wrapped in ``COUNT(*)``, once
to fetch rows. The checks recompute from raw (ranking every copy, joining every key), so
each run of the query is a scan of the warehouse. ``ExpectNoUnexpectedRows`` is that
expectation (same query, same Data Docs) computed from one metric: the query wrapped once,
``COUNT(*) OVER ()`` beside its rows, of which only the first ``SAMPLE_ROWS`` are fetched.
Measured in benchmarks/README.md ("Data-quality checkpoint").
"""

from __future__ import annotations

from typing import Any, ClassVar

import great_expectations.expectations as gxe
from great_expectations.compatibility.sqlalchemy import sqlalchemy as sa
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import (
    QueryMetricProvider,
    render_derived_table_alias,
)

#: offending rows fetched per check (the count covers them all)
SAMPLE_ROWS = 20
METRIC = "onceonly.unexpected_rows.counted"
_COUNT = "onceonly_unexpected_rows"


class UnexpectedRowsCounted(QueryMetricProvider):
    """``{"count": rows the query returns, "rows": the first SAMPLE_ROWS of them}``."""

    metric_name = METRIC
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict[str, Any],
        metric_value_kwargs: dict[str, Any],
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any],
    ) -> dict[str, Any]:
        batch, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=cls._get_query_from_metric_value_kwargs(metric_value_kwargs),
            batch_selectable=batch,
            execution_engine=execution_engine,
        )
        rows = render_derived_table_alias(query, "unexpected", execution_engine.dialect_name)
        result = execution_engine.execute_query(
            sa.text(f"SELECT *, COUNT(*) OVER () AS {_COUNT} FROM {rows}")
        ).fetchmany(SAMPLE_ROWS)
        sample = [row._asdict() for row in result]
        count = int(sample[0][_COUNT]) if sample else 0
        for row in sample:
            del row[_COUNT]
        return {"count": count, "rows": sample}


class ExpectNoUnexpectedRows(gxe.UnexpectedRowsExpectation):
    """Success when ``unexpected_rows_query`` returns no row; the observed value is how
    many it returns, the details the first of them."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC,)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        counted = metrics[METRIC]
        return {
            "success": counted["count"] == 0,
            "result": {
                "observed_value": counted["count"],
                "details": {"unexpected_rows": counted["rows"]},
            },
        }
