"""Every DAG of the project, from the declared streams."""

from __future__ import annotations

from typing import Any

from onceonly.orchestration.common import declared_streams


def all_dags() -> dict[str, Any]:
    """dag_id -> DAG: land_<stream> and transform_<stream> per declared stream,
    relay_<stream> per stream with an outbox, and reconcile_daily."""
    from onceonly.orchestration.land import land_dag
    from onceonly.orchestration.reconcile import reconcile_dag
    from onceonly.orchestration.relay import relay_dag
    from onceonly.orchestration.transform import transform_dag

    dags = [reconcile_dag()]
    for stream, relayed in declared_streams().items():
        dags += [land_dag(stream), transform_dag(stream)]
        if relayed:
            dags.append(relay_dag(stream))
    return {dag.dag_id: dag for dag in dags}
