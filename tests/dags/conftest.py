"""Airflow gets a throwaway home and metadata DB before anything imports it."""

from __future__ import annotations

import os
import tempfile

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="onceonly-airflow-")
os.environ["ONCEONLY_RETRY_DELAY_SECONDS"] = "0"  # dag.test() waits out retry delays
