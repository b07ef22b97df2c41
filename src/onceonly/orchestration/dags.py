"""Every DAG of the project, from the declared streams."""

from __future__ import annotations

from typing import Any

from onceonly.settings import Settings


def all_dags() -> dict[str, Any]:
    """dag_id -> DAG: land_<stream> and transform_<stream> per declared stream,
    relay_<stream> per stream with an outbox, and reconcile_daily. The settings, the
    declarations (YAML) and dbt's manifest are read once here and handed to the builders."""
    from onceonly.orchestration.common import manifest_of, model_tags
    from onceonly.orchestration.land import land_dag
    from onceonly.orchestration.reconcile import reconcile_dag
    from onceonly.orchestration.relay import relay_dag
    from onceonly.orchestration.transform import transform_dag

    settings = Settings.from_env()
    declared = settings.streams()
    dags = [reconcile_dag(settings)]
    if declared:
        manifest = manifest_of(settings)
        tags = model_tags(manifest)
    for stream, contract in declared.items():
        dags += [land_dag(settings, stream), transform_dag(settings, contract, manifest, tags)]
        if contract.outbox is not None:
            dags.append(relay_dag(settings, stream))
    return {dag.dag_id: dag for dag in dags}
