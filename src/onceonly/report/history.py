"""Every run's summary, kept in ``dq.run_history``: the trends across runs and the volume check.

Each report appends one row per landing run (batch) and arrival day it has not recorded
yet: what arrived (lines, new events, duplicate copies, quarantined lines, rejected files),
how late the new events arrived, and the events newly found lost. A row is written once
and never rewritten, so the table keeps what each run saw, whatever is compacted later.

The volume check (after Elementary's volume anomalies) compares each complete arrival day's
new events with a band learned from the stream's own earlier days: the mean of up to
``BASELINE_DAYS`` earlier unflagged days, give or take ``SIGMAS`` standard deviations, and
never narrower than ``MIN_SPREAD`` of the mean. A flagged day is left out of the
baselines after it; a day with no arrival at all counts as zero.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from onceonly.contract import StreamContract
from onceonly.raw_tables import LEDGER_RELATION, Columns, create_table_sql
from onceonly.sql import Param, Relation, sql
from onceonly.targets import Warehouse

HISTORY = Relation("dq", "run_history")

#: how late a new event arrived after its event time: (column, upper bound in seconds)
DELAYS: tuple[tuple[str, float], ...] = (
    ("delay_1h", 3600),
    ("delay_6h", 6 * 3600),
    ("delay_24h", 24 * 3600),
    ("delay_7d", 7 * 24 * 3600),
    ("delay_later", float("inf")),
)
DELAY_LABELS = {
    "delay_1h": "≤ 1 h",
    "delay_6h": "1–6 h",
    "delay_24h": "6–24 h",
    "delay_7d": "1–7 d",
    "delay_later": "> 7 d",
}
COUNTS = (
    "files_landed",
    "files_rejected",
    "lines",
    "quarantined",
    "new_events",
    "duplicate_copies",
    "events_lost",
    *(name for name, _ in DELAYS),
)
COLUMNS: Columns = [
    ("stream", "varchar"),
    ("batch_id", "varchar"),
    ("arrival_day", "timestamp"),  # midnight UTC of the files' arrival day
    ("last_arrival", "timestamp"),  # the latest arrival hour of those files
    ("recorded_at", "timestamp"),
    *((name, "bigint") for name in COUNTS),
]

BASELINE_DAYS = 14
MIN_BASELINE_DAYS = 3
SIGMAS = 3.0
MIN_SPREAD = 0.2


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _int(value: object) -> int:
    return 0 if value is None else int(str(value))


def _new_rows(
    warehouse: Warehouse, contract: StreamContract, gaps: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of the landing runs not recorded yet, one per run and arrival day."""
    recorded = {
        str(b)
        for (b,) in warehouse.query(
            sql(
                "select distinct batch_id from {h} where stream = {s}",
                h=HISTORY,
                s=Param(contract.stream),
            )
        )
    }
    rows: dict[tuple[str, date], dict[str, Any]] = {}

    def row(batch: object, day: object) -> dict[str, Any] | None:
        if str(batch) in recorded:
            return None
        key = (str(batch), _day(day))
        return rows.setdefault(key, {"batch_id": key[0], "day": key[1]})

    for batch, day, last, landed, rejected, lines, quarantined in warehouse.query(
        sql(
            "select batch_id, cast(arrived_at as date), max(arrived_at), "
            "sum(case when status = 'landed' then 1 else 0 end), "
            "sum(case when status = 'rejected' then 1 else 0 end), "
            "sum(case when status = 'landed' then lines_read else 0 end), "
            "sum(case when status = 'landed' then rows_quarantined else 0 end) "
            "from {ledger} where stream = {s} and arrived_at is not null group by 1, 2",
            ledger=LEDGER_RELATION,
            s=Param(contract.stream),
        )
    ):
        r = row(batch, day)
        if r is not None:
            r.update(
                last_arrival=last,
                files_landed=_int(landed),
                files_rejected=_int(rejected),
                lines=_int(lines),
                quarantined=_int(quarantined),
            )
    delay = warehouse.dialect.seconds_between(contract.event_time, "_arrived_at")
    buckets = []
    lower = "-1e18"
    for _, upper in DELAYS:
        bound = f" and {delay} <= {upper:.0f}" if upper != float("inf") else ""
        buckets.append(
            f"sum(case when landed_rank = 1 and {delay} > {lower}{bound} then 1 else 0 end)"
        )
        lower = f"{upper:.0f}"
    for batch, day, new, duplicates, *delays in warehouse.query(
        sql(
            "select _batch_id, cast(_arrived_at as date), "
            "sum(case when landed_rank = 1 then 1 else 0 end), "
            f"sum(case when landed_rank > 1 then 1 else 0 end), {', '.join(buckets)} "
            "from {ranked} group by 1, 2",
            ranked=contract.relations.copies_ranked,
        )
    ):
        r = row(batch, day)
        if r is not None:
            r.update(new_events=_int(new), duplicate_copies=_int(duplicates))
            r.update({name: _int(n) for (name, _), n in zip(DELAYS, delays, strict=True)})
    p = contract.producer
    lost = {
        (g["producer"], g["epoch"], g["first_missing"]): g["missing_count"] - g["in_rejected_files"]
        for g in gaps
    }
    if p is not None and any(lost.values()):
        # a gap is found by the run that landed the first event after it
        same_epoch = f" and c.{p.epoch} = g.{p.epoch}" if p.epoch else ""
        for producer, epoch, first, batch, day in warehouse.query(
            sql(
                "select g.{producer}, {epoch}, g.first_missing, c._batch_id, "
                "cast(c._arrived_at as date) from {gaps} as g join {ranked} as c "
                "on c.{producer} = g.{producer} and c.{sequence} = g.last_missing + 1"
                f"{same_epoch} and c.landed_rank = 1",
                producer=p.id,
                epoch=f"g.{p.epoch}" if p.epoch else "0",
                sequence=p.sequence,
                gaps=contract.relations.sequence_gaps,
                ranked=contract.relations.copies_ranked,
            )
        ):
            r = row(batch, day)
            if r is not None:
                key = (str(producer), _int(epoch), _int(first))
                r["events_lost"] = r.get("events_lost", 0) + lost.get(key, 0)
    return [r for r in rows.values() if "last_arrival" in r]


def record_history(
    warehouse: Warehouse, contract: StreamContract, gaps: list[dict[str, Any]]
) -> int:
    """Append the rows of the stream's landing runs not recorded yet; how many."""
    d = warehouse.dialect
    warehouse.execute_steps(
        [
            sql(
                create_table_sql(
                    d.schema(HISTORY.schema), HISTORY.name, COLUMNS, dict(d.types), d.quote
                )
            )
        ]
    )
    rows = _new_rows(warehouse, contract, gaps)
    if not rows:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    values: dict[str, object] = {}
    tuples = []
    for i, r in enumerate(rows):
        day = datetime.combine(r["day"], datetime.min.time())
        fields = [contract.stream, r["batch_id"], day, r["last_arrival"], now]
        fields += [r.get(name, 0) for name in COUNTS]
        names = [f"v{i}_{j}" for j in range(len(fields))]
        values.update({n: Param(v) for n, v in zip(names, fields, strict=True)})
        tuples.append("(" + ", ".join(f"{{{n}}}" for n in names) + ")")
    columns = ", ".join(name for name, _ in COLUMNS)
    warehouse.execute_steps(
        [sql(f"insert into {{h}} ({columns}) values {', '.join(tuples)}", h=HISTORY, **values)]
    )
    return len(rows)


@dataclass
class DayTrend:
    """One arrival day of the stream's history (zero for a day nothing arrived)."""

    day: str
    counts: dict[str, int] = field(default_factory=dict)
    last_arrival: str | None = None

    @property
    def copies_per_event(self) -> float | None:
        new = self.counts.get("new_events", 0)
        return (new + self.counts.get("duplicate_copies", 0)) / new if new else None

    @property
    def quarantine_rate(self) -> float | None:
        lines = self.counts.get("lines", 0)
        return self.counts.get("quarantined", 0) / lines if lines else None


@dataclass(frozen=True)
class VolumeFinding:
    """Consecutive complete days outside one band, on the same side of it."""

    day: str  # the first of them
    last_day: str
    new_events: list[int]  # per day
    low: float
    high: float
    baseline_days: int
    first_baseline_day: str
    last_baseline_day: str

    def words(self) -> str:
        band = (
            f"the band {max(self.low, 0):,.0f}–{self.high:,.0f} learned from "
            f"{self.baseline_days} earlier days ({self.first_baseline_day} to "
            f"{self.last_baseline_day})"
        )
        if len(self.new_events) == 1:
            return f"volume: {self.day} brought {self.new_events[0]:,} new events, outside {band}"
        side = "below" if max(self.new_events) < self.low else "above"
        return (
            f"volume: {self.day} to {self.last_day} ({len(self.new_events)} days) brought "
            f"{min(self.new_events):,}–{max(self.new_events):,} new events a day, {side} {band}"
        )


def read_trend(warehouse: Warehouse, contract: StreamContract) -> list[DayTrend]:
    """The stream's history per arrival day, every calendar day from the first to the
    last (empty days included)."""
    if not warehouse.exists(HISTORY):
        return []
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    found = {
        _day(day): DayTrend(
            _day(day).isoformat(),
            {name: _int(v) for name, v in zip(COUNTS, counts, strict=True)},
            str(last)[:19],
        )
        for day, last, *counts in warehouse.query(
            sql(
                f"select arrival_day, max(last_arrival), {sums} from {{h}} "
                "where stream = {s} group by 1 order by 1",
                h=HISTORY,
                s=Param(contract.stream),
            )
        )
    }
    if not found:
        return []
    first, last = min(found), max(found)
    days = []
    while first <= last:
        days.append(found.get(first) or DayTrend(first.isoformat(), dict.fromkeys(COUNTS, 0)))
        first += timedelta(days=1)
    return days


def _complete(days: list[DayTrend]) -> list[DayTrend]:
    """The days whose arrivals are all in: every day but the last, and the last once files
    of its 23:00 hour arrived."""
    if not days:
        return []
    last = days[-1]
    done = last.last_arrival is not None and last.last_arrival[11:13] == "23"
    return days if done else days[:-1]


def volume_findings(days: list[DayTrend]) -> list[VolumeFinding]:
    """The complete days whose new events leave the band learned from earlier days;
    consecutive days outside the same band on the same side make one finding."""
    findings: list[VolumeFinding] = []
    baseline: list[DayTrend] = []
    previous: DayTrend | None = None
    for d in _complete(days):
        n = d.counts.get("new_events", 0)
        window = baseline[-BASELINE_DAYS:]
        if len(window) >= MIN_BASELINE_DAYS:
            values = [b.counts.get("new_events", 0) for b in window]
            mean = statistics.fmean(values)
            spread = max(SIGMAS * statistics.pstdev(values), MIN_SPREAD * mean)
            low, high = mean - spread, mean + spread
            if not low <= n <= high:
                last = findings[-1] if findings else None
                if (
                    last is not None
                    and previous is not None
                    and last.last_day == previous.day
                    and (last.low, last.high) == (low, high)
                    and (n < low) == (last.new_events[-1] < low)
                ):
                    findings[-1] = replace(last, last_day=d.day, new_events=[*last.new_events, n])
                else:
                    findings.append(
                        VolumeFinding(
                            d.day,
                            d.day,
                            [n],
                            low,
                            high,
                            len(window),
                            window[0].day,
                            window[-1].day,
                        )
                    )
                previous = d
                continue
        baseline.append(d)
        previous = d
    return findings


def trend_dicts(days: list[DayTrend]) -> list[dict[str, Any]]:
    return [
        {
            **asdict(d),
            "copies_per_event": d.copies_per_event,
            "quarantine_rate": d.quarantine_rate,
        }
        for d in days
    ]
