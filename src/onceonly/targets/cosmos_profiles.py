"""dbt's profile under Cosmos, per target, from an Airflow connection the settings name.

Imports no database driver: the DAG files ask while a scheduler parses them. Without a
connection named (and for DuckDB, reached by path), dbt reads dbt_project/profiles.yml,
which reads the ONCEONLY_* variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from onceonly.settings import Settings


def _postgres(settings: Settings) -> Any | None:
    """With ONCEONLY_PG_CONN_ID: the connection through Cosmos' PostgreSQL mapping (the
    password handed to dbt in an environment variable, never written)."""
    if not settings.postgres.conn_id:
        return None
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    return PostgresUserPasswordProfileMapping(
        conn_id=settings.postgres.conn_id, profile_args={"schema": "public", "threads": 2}
    )


def _bigquery(settings: Settings) -> Any | None:
    """With ONCEONLY_BQ_CONN_ID: the Google Cloud connection through the first of Cosmos'
    BigQuery mappings that claims it (a service account's key file or key, else
    application default credentials), or an access token in its ``token`` extra; the
    dataset and options as dbt_project/profiles.yml has them."""
    bq = settings.bigquery
    if not bq.conn_id:
        return None
    from cosmos.profiles import (
        GoogleCloudOauthProfileMapping,
        GoogleCloudServiceAccountDictProfileMapping,
        GoogleCloudServiceAccountFileProfileMapping,
    )

    args: dict[str, Any] = {
        "dataset": "analytics",
        "location": bq.location,
        "threads": 4,
        "job_retries": 1,
    }
    if bq.api_endpoint:
        args["api_endpoint"] = bq.api_endpoint
    if bq.maximum_bytes_billed:
        args["maximum_bytes_billed"] = bq.maximum_bytes_billed
    for mapping in (
        _token_mapping(),
        GoogleCloudServiceAccountFileProfileMapping,
        GoogleCloudServiceAccountDictProfileMapping,
        GoogleCloudOauthProfileMapping,
    ):
        candidate = mapping(conn_id=bq.conn_id, profile_args=args)
        if candidate.can_claim_connection():
            return candidate
    return None


def _token_mapping() -> type:
    """dbt-bigquery's ``oauth-secrets`` method from a connection's ``token`` extra (a
    short-lived access token), which Cosmos does not map: the token handed to dbt in an
    environment variable, as Cosmos does with every secret."""
    from cosmos.profiles import BaseProfileMapping

    class GoogleCloudTokenProfileMapping(BaseProfileMapping):  # type: ignore[misc]
        airflow_connection_type = "google_cloud_platform"
        dbt_profile_type = "bigquery"
        dbt_profile_method = "oauth-secrets"
        required_fields = ["project", "dataset", "token"]
        secret_fields = ["token"]
        airflow_param_mapping = {
            "project": ["extra.project", "extra__google_cloud_platform__project"],
            "dataset": ["extra.dataset", "extra__google_cloud_platform__dataset"],
            "token": ["extra.token"],
        }

        @property
        def profile(self) -> dict[str, Any | None]:
            return {
                **self.mapped_params,
                "method": "oauth-secrets",
                "token": self.get_env_var_format("token"),
                **self.profile_args,
            }

    return GoogleCloudTokenProfileMapping


MAPPINGS: dict[str, Callable[[Settings], Any | None]] = {
    "postgres": _postgres,
    "bigquery": _bigquery,
}


def profile_mapping(settings: Settings) -> Any | None:
    mapping = MAPPINGS.get(settings.target)
    return mapping(settings) if mapping is not None else None
