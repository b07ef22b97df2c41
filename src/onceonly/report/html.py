"""Render the report as one self-contained HTML file: inline CSS, SVG and one small inline
script (filter and sort the evidence tables), and no URL outside the file except relative
links to the CSVs beside it and the local Data Docs."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from onceonly.contract import StreamContract
from onceonly.quality.checks import fails_the_run
from onceonly.report.evidence import EvidenceList
from onceonly.report.figures import Figures
from onceonly.report.history import DELAY_LABELS, DELAYS, DayTrend
from onceonly.words import counted

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2433;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
.muted{color:#5b6475}.verdict{border-radius:8px;padding:1rem 1.2rem;margin:1.2rem 0}
.yes{background:#e7f6ec;border:1px solid #4caf50}.no{background:#fdecea;border:1px solid #e53935}
.verdict strong{font-size:1.3rem}.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:.7rem}
.tile{border:1px solid #d8dde6;border-radius:6px;padding:.6rem .8rem}
.tile .v{font-size:1.4rem;font-weight:600}.tile .k{color:#5b6475;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e7ee;padding:.3rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}td.l,th.l{text-align:left}
table[data-testid="checks"] td,table[data-testid="streams"] td{text-align:left}
td span.l{display:block;text-align:left;white-space:pre-wrap;word-break:break-all}
table.evidence th{text-align:left;cursor:pointer}
th[data-dir="up"]::after{content:" ▲"}th[data-dir="down"]::after{content:" ▼"}
input.filter{margin:.2rem 0 .4rem;padding:.25rem .4rem;width:18rem}
.error{color:#c62828;font-weight:600}.warn{color:#a86500;font-weight:600}.ok{color:#2e7d32}
svg text{font:11px system-ui,sans-serif;fill:#1d2433}.legend span{margin-right:1rem}
.trends{display:grid;grid-template-columns:repeat(2,1fr);gap:.8rem}
figure.trend{margin:0}figure.trend figcaption{font-weight:600;margin-bottom:.2rem}
.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
"""

#: filter and sort for the evidence tables: vanilla JS, no request, the page reads the
#: same without it
SCRIPT = """
document.querySelectorAll('input.filter').forEach(function (box) {
  var table = document.querySelector('table[data-testid="' + box.dataset.filter + '"]');
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase();
    table.tBodies[0].querySelectorAll('tr').forEach(function (tr) {
      tr.hidden = q !== '' && tr.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
});
function cellValue(tr, i) {
  var text = tr.cells[i].textContent.trim();
  var n = text.replace(/,/g, '');
  return n !== '' && !isNaN(n) ? Number(n) : text.toLowerCase();
}
document.querySelectorAll('table.evidence th').forEach(function (th) {
  th.title = 'sort';
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], i = th.cellIndex;
    var up = th.dataset.dir !== 'up';
    th.closest('tr').querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = up ? 'up' : 'down';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, i), y = cellValue(b, i);
      var c = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : typeof x === 'number' ? -1 : 1;
      return up ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

COLORS = {"new": "#3f7fd8", "duplicates": "#f0a030", "quarantined": "#d9534f"}


def _n(value: int) -> str:
    return f"{value:,}"


def verdict(
    figures: Figures, checks: list[dict[str, Any]], contract: StreamContract
) -> tuple[bool, list[str]]:
    """Whether the stream holds its declared guarantee, and why. Effectively once: every
    key once in the facts; at least once: every valid copy in the facts; and no
    error-severity check failed."""
    t, key = figures.totals, contract.key
    reasons: list[str] = []
    dedup = contract.guarantee.deduplicates
    valid_copies = t["delivered_copies"] - t["quarantined"]
    if dedup and t["fact_rows"] > t["fact_event_ids"]:
        extra = t["fact_rows"] - t["fact_event_ids"]
        reasons.append(
            f"{key} repeated in the facts: {counted(extra, 'extra row')} (run the full audit)"
        )
    if not dedup and t["fact_rows"] != valid_copies:
        reasons.append(
            f"the facts hold {counted(t['fact_rows'], 'row')} for "
            f"{counted(valid_copies, 'valid copy', 'valid copies')}"
        )
    failed = [c for c in checks if fails_the_run(c["severity"], c["success"], c["error"])]
    reasons += [
        f"check {c['name']} could not run: {c['error']}"
        if c["error"]
        else f"check {c['name']} failed ({counted(c['unexpected_count'], 'offending row')})"
        for c in failed
    ]
    ok = not reasons
    if ok and dedup:
        reasons.append(
            f"{counted(t['delivered_copies'], 'delivered copy', 'delivered copies')} became "
            f"{counted(t['fact_event_ids'], 'event')}, each held once; "
            f"{counted(t['duplicates_removed'], 'duplicate copy', 'duplicate copies')} removed, "
            f"{counted(t['quarantined'], 'bad line')} quarantined, nothing dropped silently"
        )
    elif ok:
        reasons.append(
            f"{counted(valid_copies, 'valid copy', 'valid copies')} of "
            f"{counted(t['fact_event_ids'], 'event')} all in the facts (at least once); "
            f"{counted(t['duplicates_removed'], 'duplicate copy', 'duplicate copies')} counted "
            f"and kept, {counted(t['quarantined'], 'bad line')} quarantined, nothing dropped "
            "silently"
        )
    if t.get("unpublished"):
        waiting = figures.waiting
        gates = ", ".join(
            f"{g['name']} ({counted(g['failing_rows'], 'failing row')})"
            for g in waiting["failed_gates"]
        )
        runs = sorted({f["batch_id"] for f in waiting["files"]})
        reasons.append(
            f"{counted(t['unpublished'], key + ' value')} waiting unpublished in "
            f"{counted(len(waiting['files']), 'file')} of "
            f"{'landing run' if len(runs) == 1 else 'landing runs'} {', '.join(runs)}: "
            + (f"held by publish check {gates}" if gates else "their batch was not published")
            + "; the facts hold what passed (see Waiting to publish)"
        )
    held = figures.waiting.get("held") if figures.waiting else None
    if held:
        reasons.append(
            f"{counted(len(held), key + ' value')} held out of the facts for conflicting "
            "copies until "
            f"`onceonly resolve --stream {contract.stream} --key ... --keep ...` chooses one "
            "(see Waiting to publish)"
        )
    if t["events_lost_in_gaps"]:
        reasons.append(
            f"upstream loss: {counted(t['events_lost_in_gaps'], 'event')} never arrived "
            f"({counted(t.get('gaps_with_loss', t['sequence_gaps']), 'sequence gap')}) - "
            "reported, not recoverable here"
        )
    if t.get("gap_events_in_rejected_files"):
        files = sorted({f for g in figures.gaps for f in g["rejected_files"]})
        reasons.append(
            f"{counted(t['gap_events_in_rejected_files'], 'missing event')} arrived in "
            f"{'rejected file' if len(files) == 1 else 'rejected files'} {', '.join(files)}: "
            "not lost upstream; they land when the file is delivered again whole "
            "(see Sequence gaps)"
        )
    reasons += [v.words() for v in figures.volume]
    if t["conflicting_events"]:
        settled = t["conflicting_events"] - len(held or [])
        kept = (
            "every copy was kept"
            if not dedup
            else "one copy was kept"
            if not held
            else f"{_n(settled)} published with one copy, {_n(len(held))} held"
            if settled
            else "all of them held"
        )
        reasons.append(
            f"{counted(t['conflicting_events'], key + ' value')} arrived with differing "
            f"content; {kept}"
        )
    return ok, reasons


def headline(contract: StreamContract, ok: bool) -> str:
    """``Effectively once: yes``: the stream's guarantee and whether it holds."""
    return f"{contract.guarantee.words.capitalize()}: {'yes' if ok else 'no'}"


def _status(check: dict[str, Any]) -> str:
    if check["success"]:
        return '<span class="ok">passed</span>'
    if check["error"]:
        return '<span class="error">COULD NOT RUN</span>'
    if check["severity"] == "warn":
        return '<span class="warn">reported (warn)</span>'
    return '<span class="error">FAILED (error)</span>'


def _example(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _day_chart(figures: Figures) -> str:
    days = figures.days
    if not days:
        return "<p class='muted'>No deliveries.</p>"
    width, height, left, bottom = 1060, 240, 50, 40
    peak = (
        max(d.distinct_events + d.duplicates_removed + sum(d.quarantined.values()) for d in days)
        or 1
    )
    step = (width - left) / len(days)
    bar = max(step * 0.7, 2)
    parts = [
        f'<svg role="img" aria-label="copies per arrival day" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
    ]
    scale = (height - bottom - 10) / peak
    parts.append(f'<text x="0" y="12">{_n(peak)}</text>')
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" '
        f'y2="{height - bottom}" stroke="#999"/>'
    )
    for i, d in enumerate(days):
        x = left + i * step
        y: float = height - bottom
        for key, value in (
            ("new", d.distinct_events),
            ("duplicates", d.duplicates_removed),
            ("quarantined", sum(d.quarantined.values())),
        ):
            h = value * scale
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLORS[key]}"><title>{escape(d.day)} {key}: {_n(value)}'
                f"</title></rect>"
            )
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}">{escape(d.day[5:])}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span><i class="sw" style="background:{c}"></i>{k}</span>' for k, c in COLORS.items()
    )
    return "".join(parts) + f'<p class="legend">{legend}</p>'


def _line_chart(
    title: str,
    testid: str,
    days: list[DayTrend],
    values: Sequence[float | None],
    shown: list[str],
    flagged: frozenset[str] = frozenset(),
) -> str:
    """A small chart of one value per day: a point per day that has one (flagged days in
    red), each with its day and value as a tooltip."""
    width, height, left, bottom = 520, 150, 8, 22
    peak = max((v for v in values if v is not None), default=0) or 1
    step = (width - left - 10) / max(len(days) - 1, 1)
    parts = [
        f'<figure class="trend"><figcaption>{escape(title)}</figcaption>'
        f'<svg role="img" aria-label="{escape(title)}" data-testid="{testid}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
        'stroke="#999"/>'
    ]
    points = []
    for i, (d, v, text) in enumerate(zip(days, values, shown, strict=True)):
        x = left + 4 + i * step
        if i in (0, len(days) - 1) or len(days) <= 8:
            parts.append(_day_label(x, height - 6, d.day, i == len(days) - 1 and i > 0))
        if v is None:
            continue
        y = height - bottom - 8 - (height - bottom - 24) * v / peak
        points.append(f"{x:.1f},{y:.1f}")
        color = "#d9534f" if d.day in flagged else "#3f7fd8"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
            f"<title>{escape(d.day)}: {escape(text)}</title></circle>"
        )
    if len(points) > 1:
        parts.insert(2, f'<polyline fill="none" stroke="#9bb8e8" points="{" ".join(points)}"/>')
    parts.append(f'<text x="{left}" y="12">{escape(_peak(peak))}</text></svg></figure>')
    return "".join(parts)


def _day_label(x: float, y: int, day: str, last: bool) -> str:
    """A day's month-day under a chart; the last one ends at its point."""
    anchor = ' text-anchor="end"' if last else ""
    return f'<text x="{x + (8 if last else -4):.1f}" y="{y}"{anchor}>{escape(day[5:])}</text>'


def _peak(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def _delay_chart(days: list[DayTrend]) -> str:
    """Per day, the share of new events by how late they arrived (stacked)."""
    width, height, bottom = 520, 150, 22
    step = (width - 10) / max(len(days), 1)
    shades = ["#2e7d32", "#7cb342", "#fbc02d", "#f57c00", "#c62828"]
    parts = [
        '<figure class="trend"><figcaption>Arrival delay of new events (share per day)'
        '</figcaption><svg role="img" aria-label="arrival delay" data-testid="trend-delay" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, d in enumerate(days):
        total = sum(d.counts.get(name, 0) for name, _ in DELAYS)
        x, y = 4 + i * step, float(height - bottom)
        if len(days) <= 8 or i in (0, len(days) - 1):
            parts.append(_day_label(x, height - 6, d.day, i == len(days) - 1 and i > 0))
        for (name, _), shade in zip(DELAYS, shades, strict=True):
            n = d.counts.get(name, 0)
            if not total or not n:
                continue
            h = (height - bottom - 8) * n / total
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step * 0.7, 2):.1f}" '
                f'height="{h:.1f}" fill="{shade}"><title>{escape(d.day)} '
                f"{escape(DELAY_LABELS[name])}: {_n(n)} ({n / total:.0%})</title></rect>"
            )
    legend = "".join(
        f'<span><i class="sw" style="background:{c}"></i>{escape(DELAY_LABELS[n])}</span>'
        for (n, _), c in zip(DELAYS, shades, strict=True)
    )
    return "".join(parts) + f'</svg><p class="legend">{legend}</p></figure>'


def _trend_section(figures: Figures) -> str:
    """The stream's days across runs (dq.run_history), with the volume check's findings."""
    days = figures.trend
    head = "<h2>Across runs, per arrival day</h2>"
    if not days:
        return head + '<p class="muted">No run recorded yet.</p>'
    flagged = frozenset(d.day for d in days for v in figures.volume if v.day <= d.day <= v.last_day)
    new = [float(d.counts.get("new_events", 0)) for d in days]
    copies = [d.copies_per_event for d in days]
    rates = [None if r is None else 100 * r for r in (d.quarantine_rate for d in days)]
    lost = [float(d.counts.get("events_lost", 0)) for d in days]
    findings = (
        "<ul data-testid='volume-findings'>"
        + "".join(f"<li class='warn'>{escape(v.words())}</li>" for v in figures.volume)
        + "</ul>"
        if figures.volume
        else "<p class='muted'>The volume check found every complete day within its band.</p>"
    )
    return (
        head + "<p class='muted'>What each run recorded in <code>dq.run_history</code>, summed "
        "per UTC arrival day (a day with no arrival counts as zero). The volume check "
        "compares each complete day's new events with the band learned from up to 14 "
        "earlier days (mean ± 3 standard deviations, at least ± 20%), flagged days left "
        "out.</p>"
        + findings
        + '<div class="trends">'
        + _line_chart(
            "New events per day", "trend-volume", days, new, [_n(int(v)) for v in new], flagged
        )
        + _line_chart(
            "Copies per event (duplicate rate)",
            "trend-copies",
            days,
            copies,
            ["no new event" if c is None else f"{c:.3f}" for c in copies],
        )
        + _line_chart(
            "Quarantined lines, % of lines",
            "trend-quarantine",
            days,
            rates,
            ["no line" if r is None else f"{r:.2f} %" for r in rates],
        )
        + _line_chart(
            "Events found lost (sequence gaps)",
            "trend-loss",
            days,
            lost,
            [_n(int(v)) for v in lost],
        )
        + _delay_chart(days)
        + "</div>"
    )


def _bars(values: dict[str, int], label: str) -> str:
    if not values:
        return "<p class='muted'>None.</p>"
    peak = max(values.values()) or 1
    rows = len(values)
    parts = [f'<svg role="img" aria-label="{escape(label)}" width="700" height="{rows * 24 + 6}">']
    for i, (key, value) in enumerate(sorted(values.items(), key=lambda kv: -kv[1])):
        w = 480 * value / peak
        parts.append(
            f'<text x="0" y="{i * 24 + 16}">{escape(key)}</text>'
            f'<rect x="170" y="{i * 24 + 4}" width="{w:.1f}" height="16" '
            f'fill="#3f7fd8"/><text x="{176 + w:.1f}" y="{i * 24 + 16}">{_n(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]], testid: str, cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    css = f' class="{cls}"' if cls else ""
    return (
        f'<table data-testid="{testid}"{css}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


#: characters of a quarantined line shown on the page (the CSV keeps more)
SHOWN_CHARS = 200


def _cell(value: str) -> str:
    cut = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
    return f'<span class="l">{escape(cut)}</span>'


def _evidence_section(evidence: EvidenceList, shown: int) -> str:
    """One evidence list: its count, its first ``shown`` rows, and a link to its CSV."""
    total = len(evidence.rows)
    testid = evidence.csv_name.removesuffix(".csv").replace("_", "-")
    head = f"<h2>{escape(evidence.title)} ({_n(total)})</h2>"
    if not total:
        return head + '<p class="muted">None.</p>'
    link = f'<a href="{escape(evidence.csv_name)}">{escape(evidence.csv_name)}</a>'
    note = (
        f"All of them below, and in {link} beside this page."
        if total <= shown
        else f"The first {_n(shown)} below; all {_n(total)} in {link} beside this page."
    )
    rows = [[_cell(v) for v in row] for row in evidence.rows[:shown]]
    search = (
        f'<input type="search" class="filter" data-filter="{testid}" '
        f'aria-label="filter {escape(evidence.title.lower())}" '
        'placeholder="Filter the rows on this page"> '
        '<span class="muted">click a column heading to sort</span>'
    )
    return (
        head
        + f'<p class="muted">{note}</p>'
        + search
        + _table(list(evidence.columns), rows, testid, "evidence")
    )


def _cost_line(cost: dict[str, Any], contract: StreamContract) -> str:
    """What the guarantee cost in the stream's last run, step by step (dbt's timings)."""
    if not cost:
        return ""
    steps = " · ".join(
        f"{escape(step)} {seconds:.2f} s"
        for step, seconds in cost.items()
        if step not in ("total", "last_run")
    )
    return (
        f'<p data-testid="cost">What {escape(contract.guarantee.words)} cost in the last run '
        f"({escape(str(cost['last_run'])[:19])} UTC): {steps} ({cost['total']:.2f} s in all, "
        "dbt's timings)</p>"
    )


def _seconds(value: object) -> str:
    """A duration for people: seconds, minutes or hours."""
    if value is None:
        return "none"
    s = float(value)  # type: ignore[arg-type]
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


#: minutes after which a relay scheduled every five minutes is said to have stopped
RELAY_STALE_MINUTES = 15


def _relay_section(relay: dict[str, Any], contract: StreamContract) -> str:
    """An outbox stream: how far behind its relay is (from the relay's log)."""
    if contract.outbox is None:
        return ""
    table = escape(contract.outbox.table)
    if not relay:
        return (
            f'<section id="relay"><h2>Relay from <code>{table}</code></h2><p class="muted">'
            "The relay has not run against this landing zone yet (<code>onceonly relay</code> "
            f"or the <code>relay_{escape(contract.stream)}</code> DAG).</p></section>"
        )
    stale = relay["minutes_since_last_pass"] > RELAY_STALE_MINUTES
    rows = [
        [
            "last pass",
            f"{escape(relay['last_pass_at'])} ({relay['minutes_since_last_pass']} min ago)",
        ],
        ["passes in the last 24 h", _n(relay["passes_24h"])],
        [
            "rows relayed in the last 24 h",
            f"{_n(relay['rows_24h'])} in {_n(relay['files_24h'])} files",
        ],
        ["insert to landing file, median pass", _seconds(relay["delay_p50_seconds"])],
        ["insert to landing file, worst pass", _seconds(relay["delay_max_seconds"])],
        ["committed rows waiting now", _n(relay["waiting"])],
        ["oldest waiting row has waited", _seconds(relay["lag_seconds"])],
        ["held back by a transaction open for", _seconds(relay["held_back_seconds"])],
    ]
    warning = (
        f'<p class="warn" data-testid="relay-stale">The relay has not run for '
        f"{relay['minutes_since_last_pass']} min: rows committed since wait in the outbox.</p>"
        if stale
        else ""
    )
    return (
        f'<section id="relay"><h2>Relay from <code>{table}</code></h2>{warning}'
        '<p class="muted">A row is relayed once every transaction older than its own has '
        "ended: a long-open transaction holds later rows back (they wait, never skipped).</p>"
        + _table(["", "value"], rows, "relay")
        + "</section>"
    )


def _offsets_section(offsets: dict[str, Any]) -> str:
    """A Kafka Connect stream: the offset ranges landed again, and the offsets no landed
    file holds, per partition."""
    if not offsets:
        return ""
    overlaps = [
        [
            _n(o["partition"]),
            f"{_n(o['first'])}–{_n(o['last'])}",
            _n(o["last"] - o["first"] + 1),
            _cell(o["source_file"]),
            _cell(o["landed_before_by"]),
        ]
        for o in offsets["overlaps"]
    ]
    gaps = [
        [
            _n(g["partition"]),
            _n(g["first_missing"]),
            _n(g["last_missing"]),
            _n(g["missing"]),
            "in a file rejected whole: " + ", ".join(_cell(f) for f in g["in_rejected_files"])
            if g["in_rejected_files"]
            else "no file holds them",
        ]
        for g in offsets["gaps"]
    ]
    return (
        '<section id="offsets"><h2>Kafka Connect offsets</h2>'
        '<p class="muted">Each sink file holds one partition\'s records from the offset in its '
        "name on. An overlap is a range a file landed again (a task that rewrote it): its "
        "copies are counted as duplicates by cause offset_overlap. A hole is offsets between "
        "landed ones that no landed file holds: lost on the way, or still to come.</p>"
        f"<h3>Ranges landed again: {_n(len(overlaps))}</h3>"
        + (
            _table(
                ["partition", "offsets", "records", "file", "landed before by"],
                overlaps,
                "offset-overlaps",
            )
            if overlaps
            else ""
        )
        + f"<h3>Holes: {_n(len(gaps))}</h3>"
        + (
            _table(
                ["partition", "first missing", "last missing", "missing", "cause"],
                gaps,
                "offset-gaps",
            )
            if gaps
            else ""
        )
        + "</section>"
    )


def _waiting_section(waiting: dict[str, Any], contract: StreamContract) -> str:
    """exactly_once: the files whose keys wait unpublished and the publish checks that
    hold them, with their first failing rows (all of them in the check's dq table)."""
    if not waiting or not (waiting.get("keys") or waiting.get("held")):
        return ""
    held = waiting.get("held") or []
    held_html = (
        f"<h3>Held for conflicting copies ({_n(len(held))})</h3>"
        '<p class="muted">Copies of these keys differ in content; none is published until '
        f"<code>onceonly resolve --stream {escape(contract.stream)} --key KEY --keep "
        "first|last|FILE:LINE</code> chooses one (all of them in "
        f"<code>dq.{escape(contract.relations.held_conflicts.name)}</code>).</p>"
        + _table(
            [contract.key, "copies", "versions"],
            [[escape(h["key"]), _n(h["copies"]), _n(h["versions"])] for h in held[:100]],
            "held-conflicts",
        )
        if held
        else ""
    )
    if not waiting.get("keys"):
        return f'<section id="waiting"><h2>Waiting to publish</h2>{held_html}</section>'
    files = _table(
        ["landing run", "file", f"{contract.key}s waiting"],
        [
            [escape(f["batch_id"]), escape(f["source_file"]), _n(f["keys"])]
            for f in waiting["files"]
        ],
        "waiting-files",
    )
    gates = "".join(
        f"<h3>Publish check <code>{escape(g['name'])}</code> failed: {escape(g['description'])}"
        f'</h3><p class="muted">{_n(g["failing_rows"])} failing rows, all in '
        f"<code>{escape(g['table'])}</code>; the first {_n(len(g['rows']))}:</p>"
        + _table(
            list(g["rows"][0]) if g["rows"] else [],
            [[escape(str(v)) for v in row.values()] for row in g["rows"]],
            f"gate-{g['name']}",
        )
        for g in waiting["failed_gates"]
    )
    later = (
        '<p class="muted">Copies landed later join this batch and wait with it: the facts '
        "take nothing of the stream until every publish check passes. Fix the cause (a "
        "missing event delivered, a file landed again with <code>--force</code>), then run "
        "again.</p>"
    )
    if not gates:
        gates = (
            '<p class="muted">No publish check failed in its last run: the batch was written '
            "but not published yet (the run stopped between the two); the next run "
            "publishes it.</p>"
        )
    return (
        f'<section id="waiting"><h2>Waiting to publish</h2>{files}{gates}{later}{held_html}'
        "</section>"
    )


def render(
    figures: Figures,
    checks: list[dict[str, Any]],
    meta: dict[str, str],
    data_docs_link: str | None,
    contract: StreamContract,
    evidence: Sequence[EvidenceList] = (),
    shown: int = 100,
) -> str:
    """One stream's page; ``shown`` rows of each ``evidence`` list."""
    ok, reasons = verdict(figures, checks, contract)
    t = figures.totals
    tiles = [
        ("delivered_copies", "delivered copies"),
        ("fact_event_ids", "distinct events (facts)"),
        (
            "duplicates_removed",
            "duplicate copies removed"
            if contract.guarantee.deduplicates
            else "duplicate copies kept (at least once)",
        ),
        ("quarantined", "lines quarantined"),
        ("files_rejected", "files rejected whole"),
        ("events_lost_in_gaps", "events lost (sequence gaps)"),
        ("conflicting_events", "conflicting events"),
        ("late_duplicates", "late duplicates"),
    ]
    tile_html = "".join(
        f'<div class="tile"><div class="v" data-figure="{k}">{_n(t[k])}</div>'
        f'<div class="k">{escape(label)}</div></div>'
        for k, label in tiles
    )
    causes = {
        k.removeprefix("duplicates_"): v
        for k, v in t.items()
        if k.startswith("duplicates_") and k != "duplicates_removed"
    }
    reasons_q = {
        k.removeprefix("quarantined_"): v for k, v in t.items() if k.startswith("quarantined_")
    }
    day_rows = [
        [
            escape(d.day),
            _n(d.delivered_copies),
            _n(d.distinct_events),
            _n(d.duplicates.get("in_file", 0)),
            _n(d.duplicates.get("cross_file", 0)),
            _n(d.duplicates.get("replay", 0)),
            _n(d.files_redelivered_skipped),
            _n(sum(d.quarantined.values())),
            _n(d.late_duplicates),
            _n(d.conflicting_events),
            escape(", ".join(f"{k}: {v}" for k, v in sorted(d.control_totals.items()))),
        ]
        for d in figures.days
    ]
    check_rows = [
        [
            escape(c["name"]),
            _status(c),
            _n(c["unexpected_count"]),
            escape(c["description"]),
            escape("; ".join(_example(x) for x in c["sample"][:5])),
        ]
        for c in checks
    ]
    gaps_html = (
        ""
        if contract.producer is not None
        else '<h2>Sequence gaps</h2><p class="muted">The stream declares no producer sequence, '
        "so losses cannot be seen from the events.</p>"
    )
    totals_html = ""
    if contract.control_totals:
        total_rows = [
            [escape(r["event_date"]), _n(r["events"])]
            + [escape(r[f]) for f in contract.control_totals]
            for r in figures.control_totals
        ]
        totals_html = (
            "<h2>Daily control totals, by event date</h2>"
            '<p class="muted">Each event once; check <code>reconciliation.control_totals</code> '
            "holds these sums to the same sums over raw's first copies.</p>"
            + _table(
                ["event date", "events", *contract.control_totals], total_rows, "control-totals"
            )
        )
    waiting_html = _waiting_section(figures.waiting, contract)
    relay_html = _relay_section(figures.relay, contract)
    docs = (
        f'<p>Great Expectations Data Docs: <a href="{escape(data_docs_link)}">'
        "validation results</a> (local files).</p>"
        if data_docs_link
        else ""
    )
    verdict_html = (
        f'<section id="verdict" class="verdict {"yes" if ok else "no"}">'
        f"<strong>{escape(headline(contract, ok))}</strong><ul>"
        + "".join(f"<li>{escape(r)}</li>" for r in reasons)
        + "</ul>"
        + _cost_line(figures.cost, contract)
        + "</section>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>onceonly reconciliation report: {escape(contract.stream)}</title><style>{CSS}</style></head>
<body>
<p class="muted"><a href="../index.html">all streams</a></p>
<h1>Reconciliation report: {escape(contract.stream)}</h1>
<p class="muted">Generated {escape(meta.get("generated_at", ""))} from target
{escape(meta.get("target", ""))}. Days are UTC arrival days.</p>
{verdict_html}
<div class="tiles">{tile_html}</div>
{waiting_html}
{relay_html}
{_offsets_section(figures.offsets)}
<h2>Copies per arrival day</h2>{_day_chart(figures)}
{_trend_section(figures)}
<h2>Duplicate copies removed, by cause</h2>
<p class="muted">in_file: repeated within one file; cross_file: already delivered in an
earlier file; replay: a file landed again on purpose (forced); offset_overlap: a Kafka
Connect offset range landed again. Files re-delivered byte for
byte are skipped at landing: {_n(t["files_redelivered_skipped"])}.</p>
{_bars(causes, "duplicates by cause")}
<h2>Quarantined lines, by reason</h2>{_bars(reasons_q, "quarantined by reason")}
{"".join(_evidence_section(e, shown) for e in evidence)}
<h2>Per day</h2>
{
        _table(
            [
                "day",
                "delivered copies",
                "new events",
                "dup in-file",
                "dup cross-file",
                "dup replay",
                "files skipped",
                "quarantined",
                "late dup",
                "conflicts",
                "control totals",
            ],
            day_rows,
            "days",
        )
    }
{totals_html}
<h2>Checks (Great Expectations)</h2>{docs}
{_table(["check", "status", "offending rows", "what it checks", "examples"], check_rows, "checks")}
{gaps_html}
<script>{SCRIPT}</script>
</body></html>
"""


def render_index(streams: list[dict[str, Any]], meta: dict[str, str]) -> str:
    """The report's front page: a verdict per stream, each linking to its page."""
    rows = [
        [
            f'<a href="{escape(s["stream"])}/index.html">{escape(s["stream"])}</a>',
            escape(s["guarantee"].replace("_", " ")),
            '<span class="ok">yes</span>' if s["held"] else '<span class="error">no</span>',
            f"{s['cost']['total']:.2f}" if s.get("cost") else "",
            escape("; ".join(s["verdict"])),
        ]
        for s in streams
    ]
    everything = all(s["held"] for s in streams)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>onceonly reconciliation report</title><style>{CSS}</style></head>
<body>
<h1>Reconciliation report</h1>
<p class="muted">Generated {escape(meta.get("generated_at", ""))} from target
{escape(meta.get("target", ""))}.</p>
<section id="verdict" class="verdict {"yes" if everything else "no"}">
<strong>Every stream holds its guarantee: {"yes" if everything else "no"}</strong></section>
{_table(["stream", "guarantee", "held", "cost of the last run, s", "why"], rows, "streams")}
</body></html>
"""
