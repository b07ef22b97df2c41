"""Airflow's REST API (v2), as a user's script calls it: the scheduler test and the
scheduled-cycle benchmark drive a `onceonly airflow` through it, and the CLI as a
subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def onceonly(env: dict[str, str], *args: str) -> str:
    """`onceonly ARGS` in a process of its own; its output, or an error with its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "onceonly", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"onceonly {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


class AirflowApi:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=f"{url}/api/v2", timeout=30)

    def get(self, path: str, **params: object) -> Any:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def knows(self, dag_id: str) -> bool:
        """Whether the dag-processor has parsed the DAG yet."""
        return self.client.get(f"/dags/{dag_id}").status_code == 200

    def unpause(self, dag_id: str) -> None:
        response = self.client.patch(f"/dags/{dag_id}", json={"is_paused": False})
        response.raise_for_status()
        assert response.json()["is_paused"] is False

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        found = self.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="run_after")
        return list(found["dag_runs"])

    def task_instances(self, dag_id: str = "~", **params: object) -> list[dict[str, Any]]:
        found = self.get(f"/dags/{dag_id}/dagRuns/~/taskInstances", limit=500, **params)
        return list(found["task_instances"])


def wait_for(what: str, condition: Callable[[], T], timeout: float, every: float = 2.0) -> T:
    """``condition()``'s first truthy value, polled; an AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def settled(api: AirflowApi, land: str, transform: str, lands: int) -> Any:
    """(land runs, transform runs, {land run id: the transform run that took its
    Asset event in}) once at least ``lands`` landings ran, every run of both DAGs has
    finished and every landing's Asset event was taken in by a transform run; else None."""
    landed, transformed = api.runs(land), api.runs(transform)
    if len(landed) < lands or not transformed:
        return None
    if any(r["state"] not in ("success", "failed") for r in landed + transformed):
        return None
    events = api.get("/assets/events", source_dag_id=land, limit=500)["asset_events"]
    taken = {
        e["source_run_id"]: run["run_id"]
        for e in events
        for run in e["created_dagruns"]
        if run["dag_id"] == transform
    }
    if len(events) < sum(r["state"] == "success" for r in landed) or len(taken) < len(events):
        return None
    return landed, transformed, taken
