"""The volume check over a stream's days, on hand-made histories."""

from __future__ import annotations

from onceonly.report.history import DayTrend, volume_findings


def _days(*counts: int, last_hour: str = "23") -> list[DayTrend]:
    return [
        DayTrend(
            f"2026-03-{i + 1:02d}", {"new_events": n}, f"2026-03-{i + 1:02d} {last_hour}:00:00"
        )
        for i, n in enumerate(counts)
    ]


def test_consecutive_days_below_one_band_make_one_finding_and_a_spike_another() -> None:
    findings = volume_findings(_days(100, 104, 96, 10, 0, 101, 300))
    assert [(f.day, f.last_day, f.new_events) for f in findings] == [
        ("2026-03-04", "2026-03-05", [10, 0]),
        ("2026-03-07", "2026-03-07", [300]),
    ]
    low, spike = findings
    assert low.words().startswith(
        "volume: 2026-03-04 to 2026-03-05 (2 days) brought 0–10 new events a day, below the "
        "band 80–120 learned from 3 earlier days (2026-03-01 to 2026-03-03)"
    ), low.words()
    # the flagged days stay out of later baselines: day 6 is learned from, days 4-5 not
    assert spike.baseline_days == 4 and spike.high < 300


def test_too_little_history_and_an_unfinished_last_day_are_not_judged() -> None:
    assert volume_findings(_days(100, 5)) == []  # one earlier day: nothing to learn from
    assert volume_findings(_days(100, 100, 100, 3, last_hour="09")) == []  # day 4 goes on
    assert [f.day for f in volume_findings(_days(100, 100, 100, 3))] == ["2026-03-04"]
