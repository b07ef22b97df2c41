"""Airflow DAGs of every declared stream (streams/<name>.yml): land_<stream> hourly,
transform_<stream> on its landing's Asset, and reconcile_daily over all streams.

A new declaration appears here as new DAGs, with no code change. Built by
onceonly.orchestration.dags; nothing heavy is imported when this file is parsed.
"""

from onceonly.orchestration.dags import all_dags

globals().update(all_dags())
