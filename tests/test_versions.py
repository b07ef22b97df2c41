"""conflicts: highest_version — a later copy with a higher version replaces the fact, an
older or equal one never does; copies of one version that differ are conflicts."""

from __future__ import annotations

import json
from pathlib import Path

from onceonly import reconcile
from onceonly.dbt_runner import run_dbt
from onceonly.landing import land
from onceonly.settings import Settings
from onceonly.streams import load_stream
from onceonly.targets import open_target

DECLARATION = """\
name: profiles
fields:
  profile_id: {type: string, required: true}
  revision: {type: integer, required: true, min: 1}
  changed_at: {type: timestamp, required: true}
  email: {type: string, required: true}
roles:
  key: profile_id
  event_time: changed_at
  version: revision
conflicts: highest_version
"""


def _write(zone: Path, hour: str, name: str, *rows: tuple[str, int, str]) -> None:
    folder = zone / "profiles" / "dt=2026-02-01" / f"hour={hour}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        "".join(
            json.dumps(
                {
                    "profile_id": pid,
                    "revision": rev,
                    "changed_at": f"2026-02-01T0{rev}:00:00Z",
                    "email": email,
                }
            )
            + "\n"
            for pid, rev, email in rows
        )
    )


def test_the_highest_version_wins_across_batches(tmp_path: Path) -> None:
    streams = tmp_path / "streams"
    streams.mkdir()
    (streams / "profiles.yml").write_text(DECLARATION)
    contract = load_stream(streams / "profiles.yml")
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb", streams_dir=streams)
    zone = tmp_path / "zone"
    _write(zone, "10", "a.jsonl", ("p1", 1, "one@x"), ("p2", 1, "two@x"), ("p3", 1, "three@x"))

    def land_and_build() -> None:
        target = open_target(settings)
        try:
            land(zone, target, contract)
        finally:
            target.close()
        run_dbt("build", settings)

    land_and_build()
    _write(
        zone,
        "11",
        "b.jsonl",
        ("p1", 2, "one-new@x"),  # a newer revision: replaces
        ("p2", 1, "two@x"),  # a retry: nothing
        ("p1", 1, "one@x"),  # an old revision arriving late: ignored
        ("p3", 1, "three-other@x"),  # the same revision, other content: a conflict
    )
    land_and_build()
    target = open_target(settings)
    try:
        facts = target.query(
            "select profile_id, revision, email from analytics.fct_profiles_events order by 1"
        )
        assert facts == [("p1", 2, "one-new@x"), ("p2", 1, "two@x"), ("p3", 1, "three@x")]
        conflicts = target.query("select profile_id from dq.profiles_event_conflicts")
        assert conflicts == [("p3",)]
        assert reconcile.audit(target, contract).exact
    finally:
        target.close()
