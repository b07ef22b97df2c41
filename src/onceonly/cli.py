"""The ``onceonly`` command line."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from onceonly import exit_codes
from onceonly.errors import OnceOnlyError
from onceonly.words import counted

app = typer.Typer(
    help="At-least-once events in, exactly-once facts out, and a report that proves it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def printable(value: object) -> str:
    """Text from outside (a path, a name, a message) as the terminal may show it: control
    characters written as escapes, so a file name cannot move the cursor or recolour."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(value))


def shown(value: object) -> str:
    """``printable`` and with rich markup escaped: a name like ``junk[`` stays text."""
    return escape(printable(value))


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2026-01-05T00:00)", param_hint=option
        ) from None
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the landing zone into.")],
    events: Annotated[
        int, typer.Option(min=1, help="Number of distinct events per stream.")
    ] = 10_000,
    days: Annotated[int, typer.Option(min=1, help="Days of event time.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 42,
    profile: Annotated[str, typer.Option(help="clean or messy (injects faults).")] = "messy",
    stream: Annotated[
        list[str] | None,
        typer.Option(help="A stream the generator simulates (repeat); default: all of them."),
    ] = None,
    layout: Annotated[
        str,
        typer.Option(
            help="hourly (dt=/hour= folders), firehose (YYYY/MM/dd/HH/, records back to back) "
            "or kafka_connect (partition=<p>/<stream>+<p>+<start offset>.json)."
        ),
    ] = "hourly",
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="jsonl, or parquet (each file whose lines Parquet can hold as rows; the "
            "others, broken lines among them, stay JSONL).",
        ),
    ] = "jsonl",
) -> None:
    """Write a landing zone of at-least-once deliveries of the example streams (orders,
    inventory), and DIR/_truth/<stream>/ with the expected facts."""
    from onceonly.contract import Layout
    from onceonly.generate.deliveries import PROFILES
    from onceonly.generate.model import models
    from onceonly.generate.writer import generate as run_generate

    if profile not in PROFILES:
        raise typer.BadParameter(
            f"{profile!r}: expected one of {', '.join(PROFILES)}", param_hint="--profile"
        )
    _check_layout_and_format(layout, format)
    known = models()
    names = stream or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)}: the generator simulates {', '.join(known)}",
            param_hint="--stream",
        )
    for name in names:
        with _progress() as progress:
            task = progress.add_task(f"writing {name} files", total=None)

            def on_progress(_: str, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)  # noqa: B023

            info = run_generate(
                out,
                events,
                days,
                seed,
                profile,
                stream=name,
                on_progress=on_progress,
                layout=Layout(layout),
                parquet=format == "parquet",
            )
        injected = info["injected"]
        assert isinstance(injected, dict)
        console.print(
            f"{name}: wrote {info['files']} files with {info['events']} events ({profile}) "
            f"to {out / name}; truth in {out / '_truth' / name}"
        )
        if injected:
            table = Table("fault injected", "count", title=f"{name}: faults")
            for fault, n in sorted(injected.items()):
                table.add_row(fault, str(n))
            console.print(table)


LandingOption = Annotated[
    str | None,
    typer.Option(
        help="Landing zone: a folder, or a bucket (s3://bucket/prefix, gs://bucket/prefix) "
        "[ONCEONLY_LANDING]."
    ),
]
TargetOption = Annotated[
    str | None, typer.Option(help="duckdb, postgres or bigquery [ONCEONLY_TARGET].")
]
DuckDBOption = Annotated[Path | None, typer.Option(help="DuckDB file [ONCEONLY_DUCKDB_PATH].")]
StreamsDirOption = Annotated[
    Path | None,
    typer.Option("--streams-dir", help="Folder of stream declarations [ONCEONLY_STREAMS_DIR]."),
]
StreamOption = Annotated[
    list[str] | None,
    typer.Option("--stream", help="A declared stream (repeat the option); default: all."),
]
StartOption = Annotated[str | None, typer.Option(help="First arrival hour (UTC, inclusive).")]
EndOption = Annotated[str | None, typer.Option(help="End of arrival hours (UTC, exclusive).")]


def _settings(
    target: str | None = None,
    duckdb_path: Path | None = None,
    landing: Path | str | None = None,
    streams_dir: Path | None = None,
):
    from onceonly.settings import Settings

    return Settings.from_env(
        target=target, duckdb_path=duckdb_path, landing=landing, streams_dir=streams_dir
    ).with_connections()


def _streams(settings, names: list[str] | None):  # type: ignore[no-untyped-def]
    """The selected declared streams, checked before anything is touched."""
    from onceonly.streams import select

    return select(settings.streams(), names)


def _require_landing(settings) -> None:  # type: ignore[no-untyped-def]
    from onceonly.errors import LandingPathError
    from onceonly.object_store import ObjectZone

    if isinstance(settings.landing, ObjectZone):
        settings.landing.check()  # the bucket can be listed, or one line saying why not
    elif not settings.landing.is_dir():
        raise LandingPathError(settings.landing, "landing folder does not exist or is not a folder")


def _has_stream(settings, stream: str) -> bool:  # type: ignore[no-untyped-def]
    """The landing zone holds something of ``stream`` (a folder; in a bucket, an object)."""
    from onceonly.object_store import ObjectZone

    if isinstance(settings.landing, ObjectZone):
        return settings.landing.holds(f"{stream}/")
    return bool((settings.landing / stream).is_dir())


def _warn_undeclared(settings, declared) -> None:  # type: ignore[no-untyped-def]
    """Folders (a bucket's prefixes) in the landing zone that no declaration names:
    reported and recorded."""
    from onceonly.landing import record_undeclared
    from onceonly.targets import open_target

    warehouse = open_target(settings)
    try:
        folders = record_undeclared(settings.landing, warehouse, set(declared))
    finally:
        warehouse.close()
    for folder in folders:
        err_console.print(
            f"[yellow]not landed[/]: {shown(folder)}/ matches no stream declaration "
            f"(add {shown(settings.streams_dir / folder)}.yml); recorded in raw.load_ledger"
        )


@app.command()
def land(
    landing: LandingOption = None,
    target: TargetOption = None,
    duckdb_path: DuckDBOption = None,
    start: StartOption = None,
    end: EndOption = None,
    stream: StreamOption = None,
    streams_dir: StreamsDirOption = None,
    force: Annotated[bool, typer.Option(help="Land files whose content already landed.")] = False,
) -> None:
    """Land delivered files into raw tables, with a ledger and a quarantine.

    Exits 3 when files were rejected, 4 when lines were quarantined (both recorded).
    """
    from onceonly.faults import maybe_fail
    from onceonly.landing import land as run_land
    from onceonly.landing_zone import discover
    from onceonly.summary import landing_table
    from onceonly.targets import open_target

    settings = _settings(target, duckdb_path, landing, streams_dir)
    contracts = _streams(settings, stream)
    _require_landing(settings)
    t0, t1 = _parse_time(start, "--start"), _parse_time(end, "--end")
    began = _now()
    for contract in contracts:
        if not stream and not _has_stream(settings, contract.stream):
            err_console.print(
                f"{contract.stream}: no folder in {shown(settings.landing)}, nothing to land"
            )
            continue
        found = discover(settings.landing, contract.stream, t0, t1, contract.layout)
        warehouse = open_target(settings)
        try:
            with _progress() as progress:
                task = progress.add_task(f"landing {contract.stream}", total=len(found.files))
                summary = run_land(
                    settings.landing,
                    warehouse,
                    contract,
                    t0,
                    t1,
                    force=force,
                    discovery=found,
                    on_file=lambda n: progress.advance(task, n),  # noqa: B023
                    memory_limit=settings.duckdb_memory_limit,
                    limits=settings.limits,
                )
        finally:
            warehouse.close()
        # the rows are committed: a failure injected here is a lost ack (chaos runs)
        maybe_fail(settings.fault_points, "after_landing", 1)
        console.print(landing_table(summary))
        for refused in summary.refused:
            err_console.print(
                f"[yellow]not read[/]: {shown(refused.source_file)}: {shown(refused.reason)} "
                "(recorded in the ledger)"
            )
    if not stream:
        _warn_undeclared(settings, settings.streams())
    _exit_for_input(settings, began)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _exit_for_input(settings, since: datetime, published=()) -> None:  # type: ignore[no-untyped-def]
    """Exit 5 when a stream of ``published`` holds keys out of its facts, else 3 when the
    landing since ``since`` rejected a file or entry, 4 when it quarantined lines (all
    recorded): a scheduler alerts on them."""
    from onceonly.summary import not_landed, not_published
    from onceonly.targets import open_target

    warehouse = open_target(settings, create=False)
    try:
        rejected, quarantined = not_landed(warehouse, since)
        unpublished = not_published(warehouse, published)
    finally:
        warehouse.close()
    code = exit_codes.for_input(rejected, quarantined, sum(unpublished.values()))
    for stream, keys in unpublished.items():
        err_console.print(
            f"not published: {stream}: {counted(keys, 'key')} held out of the facts "
            "(see Waiting to publish in its report)"
        )
    if code != exit_codes.OK:
        parts = []
        if rejected:
            parts.append(counted(rejected, "file or entry rejected", "files or entries rejected"))
        if quarantined:
            parts.append(counted(quarantined, "line quarantined", "lines quarantined"))
        if parts:
            err_console.print(f"not landed: {', '.join(parts)} (recorded; exit {code})")
        raise typer.Exit(code)


@app.command()
def run(
    landing: LandingOption = None,
    target: TargetOption = None,
    duckdb_path: DuckDBOption = None,
    start: StartOption = None,
    end: EndOption = None,
    stream: StreamOption = None,
    streams_dir: StreamsDirOption = None,
    truth: Annotated[
        Path | None,
        typer.Option(help="Compare with a generated _truth/ folder (one subfolder per stream)."),
    ] = None,
) -> None:
    """Land, deduplicate and check each stream through its Airflow DAGs, in-process
    (dag.test()).

    Exits 1 when a DAG task or an error-severity check fails; else 5 when an exactly_once
    stream holds keys unpublished, 3 when files were rejected, 4 when lines were
    quarantined (all recorded).
    """
    import json

    from onceonly.findings import findings
    from onceonly.orchestration.runner import DagRunFailed, run_dags
    from onceonly.summary import findings_table, ledger_table
    from onceonly.targets import open_target

    settings = _settings(target, duckdb_path, landing, streams_dir)
    contracts = _streams(settings, stream)
    _require_landing(settings)
    open_target(settings).close()  # an unreachable or unusable warehouse: one line, at once
    if not stream:
        _warn_undeclared(settings, settings.streams())
    began = _now()
    failure: DagRunFailed | None = None
    plans = []
    try:
        plans = run_dags(
            settings,
            [c.stream for c in contracts],
            _parse_time(start, "--start"),
            _parse_time(end, "--end"),
        )
    except DagRunFailed as exc:
        failure = exc
    ran = {p.stream for p in plans if p.start is not None}
    for p in plans:
        if p.start is None:
            err_console.print(f"{p.stream}: no files in {shown(settings.landing)}, not run")
        else:
            console.print(
                f"ran land_{p.stream} and transform_{p.stream} for arrivals "
                f"[{p.start:%Y-%m-%d %H:%M}, {p.end:%Y-%m-%d %H:%M}) UTC"
            )
    warehouse = open_target(settings)
    try:
        console.print(ledger_table(warehouse, began))
        for contract in contracts:
            if contract.stream in ran:
                console.print(findings_table(findings(warehouse, contract), contract.stream))
    finally:
        warehouse.close()
    for contract in contracts:
        summary = settings.reports_dir / contract.stream / "summary.json"
        if contract.stream in ran and failure is None and summary.exists():
            body = json.loads(summary.read_text())
            console.print(
                f"{contract.stream}: {body['guarantee'].replace('_', ' ')}: "
                f"{'yes' if body['held'] else 'NO'}"
            )
            for line in body["verdict"]:
                console.print(f"  - {shown(line)}")
    report = settings.reports_dir / "index.html"
    if report.exists():
        console.print(f"report: {shown(report)}")
    failed = failure is not None
    if failure is not None:
        err_console.print(f"[red]failed:[/] {shown(failure)}")
    if truth is not None:
        for contract in contracts:
            if contract.stream in ran and not _print_truth(settings, truth, contract):
                failed = True
    if failed:
        raise typer.Exit(exit_codes.FAILED)
    _exit_for_input(settings, began, [c for c in contracts if c.stream in ran])


def _settled_copy(settings, folder: Path, contract):  # type: ignore[no-untyped-def]
    """The warehouse to compare with the truth: itself, or, when an exactly_once stream
    holds keys for conflicting copies, a copy in which each is resolved as the truth does
    (the first landed copy) and the stream built again; the warehouse itself keeps them
    held for a person to decide."""
    from onceonly.dbt_runner import run_dbt
    from onceonly.resolve import held_keys
    from onceonly.targets import open_target, scratch
    from onceonly.truth_check import resolve_held_as_truth

    warehouse = open_target(settings)
    try:
        if contract.guarantee != "exactly_once" or not held_keys(warehouse, contract):
            return settings
    finally:
        warehouse.close()
    copy = scratch(settings, f"{contract.stream}_settled", copy_of=settings)
    warehouse = open_target(copy)
    try:
        held = resolve_held_as_truth(warehouse, contract, folder)
    finally:
        warehouse.close()
    run_dbt("build", copy, ["-s", f"tag:stream:{contract.stream}+"])
    console.print(
        f"{contract.stream}: {counted(held, 'key')} held for conflicting copies, each a "
        "conflict in the truth; compared after resolving them (--keep first) in a copy of "
        "the warehouse"
    )
    return copy


def _print_truth(settings, truth: Path, contract) -> bool:  # type: ignore[no-untyped-def]
    from onceonly.targets import open_target
    from onceonly.truth_check import compare

    folder = truth / contract.stream
    if not folder.is_dir():
        err_console.print(f"{contract.stream}: no truth folder {shown(folder)}, not compared")
        return True
    settled = _settled_copy(settings, folder, contract)
    warehouse = open_target(settled)
    try:
        diffs = compare(warehouse, folder, contract)
    finally:
        warehouse.close()
    table = Table(
        "table",
        "equal to _truth",
        "rows missing",
        "rows unexpected",
        title=f"{contract.stream} compared with {folder}",
    )
    for d in diffs:
        table.add_row(
            d.table,
            "yes" if d.equal else "[red]NO[/]",
            str(sum(d.missing.values())),
            str(sum(d.unexpected.values())),
        )
    console.print(table)
    return all(d.equal for d in diffs)


@app.command()
def report(
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the report [ONCEONLY_REPORTS_DIR]."),
    ] = None,
    target: TargetOption = None,
    duckdb_path: DuckDBOption = None,
    stream: StreamOption = None,
    streams_dir: StreamsDirOption = None,
) -> None:
    """Run the data-quality checkpoint and write the analyst report. Exits 1 when an
    error-severity check fails."""
    from onceonly.report.build import build_report

    settings = _settings(target, duckdb_path, streams_dir=streams_dir)
    written = build_report(settings, _streams(settings, stream), out)
    console.print(f"every stream holds its guarantee: {'yes' if written.held else 'NO'}")
    console.print(f"report: {shown(written.index.resolve())}")
    console.print(f"summary: {shown(written.summary.resolve())}")
    if not written.checks_passed:
        raise typer.Exit(exit_codes.FAILED)


@app.command()
def reconcile(
    target: TargetOption = None,
    duckdb_path: DuckDBOption = None,
    stream: StreamOption = None,
    streams_dir: StreamsDirOption = None,
    full: Annotated[bool, typer.Option(help="Audit the whole facts table for duplicates.")] = False,
    repair: Annotated[bool, typer.Option(help="Remove duplicates the full audit finds.")] = False,
) -> None:
    """Report what the dq models found; with --full, audit the facts (and --repair them)."""
    from onceonly import reconcile as audit_module
    from onceonly.findings import findings, require_built, unbuilt
    from onceonly.summary import findings_table
    from onceonly.targets import open_target

    if repair and not full:
        raise typer.BadParameter("--repair needs --full", param_hint="--repair")
    settings = _settings(target, duckdb_path, streams_dir=streams_dir)
    contracts = _streams(settings, stream)
    unrepaired = []
    warehouse = open_target(settings, create=False)
    try:
        for contract in contracts:
            if stream:
                require_built(warehouse, contract)  # asked for by name: one line, exit 2
            elif (problem := unbuilt(warehouse, contract)) is not None:
                err_console.print(f"not audited: {shown(problem)}")
                continue
            audited = None
            if full and (why := audit_module.not_audited(contract)) is not None:
                err_console.print(f"not audited: {shown(why)}")
            elif full:
                run_audit = audit_module.repair if repair else audit_module.audit
                audited = run_audit(warehouse, contract)
                if not audited.exact and not audited.removed:
                    unrepaired.append((contract.stream, audited))
            console.print(findings_table(findings(warehouse, contract), contract.stream, audited))
    finally:
        warehouse.close()
    for name, audited in unrepaired:
        err_console.print(
            f"{name}: {counted(audited.extra_rows, 'duplicate fact row')} of "
            f"{counted(audited.duplicated_events, 'key')}: "
            f"run `onceonly reconcile --full --repair --stream {name}`"
        )
    if unrepaired:
        raise typer.Exit(exit_codes.FAILED)


streams_app = typer.Typer(help="Stream declarations (streams/<name>.yml).", no_args_is_help=True)
app.add_typer(streams_app, name="streams")


@streams_app.command("check")
def streams_check(streams_dir: StreamsDirOption = None) -> None:
    """Check every declaration; exit 2 with file:line and what to write on the first error."""
    settings = _settings(streams_dir=streams_dir)
    declared = settings.streams()
    table = Table("stream", "file", "guarantee", "key", "event time", "producer roles", "fields")
    for c in declared.values():
        table.add_row(
            c.stream,
            str(c.source),
            c.guarantee.value,
            c.key,
            c.event_time,
            "yes" if c.producer else "no",
            str(len(c.fields)),
        )
    console.print(table)
    console.print(f"{len(declared)} stream declaration(s) in {shown(settings.streams_dir)}: valid")


@streams_app.command("generate")
def streams_generate(streams_dir: StreamsDirOption = None) -> None:
    """Write the dbt models of every declared stream and dbt's manifest (what Cosmos reads)."""
    from onceonly.orchestration.runner import ensure_manifest

    settings = _settings(streams_dir=streams_dir)
    manifest = ensure_manifest(settings)
    console.print(
        f"models of {', '.join(settings.streams())} in {settings.dbt_project_dir / 'derived'}"
    )
    console.print(f"manifest: {shown(manifest)}")


@streams_app.command("infer")
def streams_infer(
    sample: Annotated[
        list[Path], typer.Option(help="A sample file, .jsonl or .jsonl.gz (repeat the option).")
    ],
    name: Annotated[str, typer.Option(help="The stream's name (its landing-zone folder).")],
    streams_dir: StreamsDirOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the draft [<streams-dir>/<name>.yml].")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Draft a declaration from sample lines (types, required fields, enums, a likely key,
    event time and producer sequence), checked, for you to edit."""
    import re
    import tempfile

    from onceonly.errors import ConfigError
    from onceonly.infer import infer
    from onceonly.streams import load_stream

    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
        raise ConfigError(f"--name {name!r}: lower-case letters, digits and _, from a letter")
    settings = _settings(streams_dir=streams_dir)
    path = (out or settings.streams_dir / f"{name}.yml").resolve()
    if path.exists() and not force:
        raise ConfigError(f"{path} exists: pass --force to replace it, or --out another file")
    text = infer(sample, name)
    with tempfile.TemporaryDirectory() as scratch:
        draft = Path(scratch) / f"{name}.yml"
        draft.write_text(text)
        load_stream(draft)  # a draft that does not validate is a bug, never written
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    console.print(f"drafted {shown(path)}: check it, then `onceonly streams check`")


relay_app = typer.Typer(
    help="Relay rows of PostgreSQL outbox tables into the landing zone, at least once.",
    invoke_without_command=True,
)
app.add_typer(relay_app, name="relay")


def _outbox_streams(settings, names: list[str] | None):  # type: ignore[no-untyped-def]
    """The selected streams that declare an outbox (all of them by default)."""
    from onceonly.errors import ConfigError

    chosen = _streams(settings, names)
    with_outbox = [c for c in chosen if c.outbox is not None]
    if names and len(with_outbox) < len(chosen):
        lacking = ", ".join(c.stream for c in chosen if c.outbox is None)
        raise ConfigError(f"{lacking}: no outbox declared (outbox: in streams/<name>.yml)")
    if not with_outbox:
        raise ConfigError("no declared stream has an outbox (outbox: in streams/<name>.yml)")
    return with_outbox


@relay_app.callback()
def relay(
    ctx: typer.Context,
    stream: StreamOption = None,
    landing: Annotated[
        Path | None, typer.Option(help="Landing zone to write into [ONCEONLY_LANDING].")
    ] = None,
    batch_rows: Annotated[
        int | None, typer.Option(min=1, help="Rows per landing file (default: the declaration's).")
    ] = None,
    retain_days: Annotated[
        int | None,
        typer.Option(min=1, help="Then delete relayed rows older than this many days."),
    ] = None,
    streams_dir: StreamsDirOption = None,
) -> None:
    """Relay each outbox stream's committed rows past its cursor into a landing file plus
    manifest; a transaction still open holds later rows back (never skipped)."""
    if ctx.invoked_subcommand is not None:
        return
    from onceonly import relay as outbox_relay
    from onceonly.faults import maybe_kill

    settings = _settings(landing=landing, streams_dir=streams_dir)
    contracts = _outbox_streams(settings, stream)
    points = settings.fault_points
    for contract in contracts:
        con = outbox_relay.connect(settings, contract)
        try:
            done = outbox_relay.relay(
                con,
                contract,
                settings.landing_folder,
                batch_rows,
                fault=lambda point: maybe_kill(points, point),
            )
            pruned = (
                outbox_relay.prune(con, contract, retain_days) if retain_days is not None else None
            )
        finally:
            con.close()
        line = (
            f"{contract.stream}: {counted(done.rows, 'row')} relayed in "
            f"{counted(len(done.files), 'file')}"
        )
        if done.delay_seconds is not None:
            line += f" (the oldest had waited {done.delay_seconds:.1f} s)"
        if done.waiting:
            line += (
                f"; {counted(done.waiting, 'row')} wait behind a transaction open for "
                f"{done.held_back_seconds or 0:.0f} s"
            )
        if pruned is not None:
            line += f"; {counted(pruned, 'row')} older than {retain_days} days deleted"
        console.print(shown(line))


@relay_app.command("init")
def relay_init(stream: StreamOption = None, streams_dir: StreamsDirOption = None) -> None:
    """Create each outbox stream's outbox table (and the relay's cursor table), or check
    an existing one and say what it lacks. Exits 2 when one lacks a column."""
    from onceonly import relay as outbox_relay
    from onceonly.errors import ConfigError

    settings = _settings(streams_dir=streams_dir)
    lacking_any = []
    for contract in _outbox_streams(settings, stream):
        assert contract.outbox is not None
        con = outbox_relay.connect(settings, contract)
        try:
            created, lacking = outbox_relay.init(con, contract.outbox)
        finally:
            con.close()
        table = contract.outbox.table
        if lacking:
            lacking_any.append(table)
            for statement in lacking:
                err_console.print(f"{shown(table)} lacks a column; to add it: {shown(statement)}")
        else:
            console.print(
                f"{shown(table)}: {'created' if created else 'ready'} for {contract.stream}"
            )
    if lacking_any:
        raise ConfigError(f"outbox table(s) {', '.join(lacking_any)} lack columns (listed above)")


@app.command()
def resolve(
    stream: Annotated[str, typer.Option("--stream", help="An exactly_once stream.")],
    key: Annotated[str, typer.Option(help="The held key, as text.")],
    keep: Annotated[
        str,
        typer.Option(help="Which copy to publish: first, last, or <source_file>:<line>."),
    ],
    note: Annotated[str, typer.Option(help="Why (kept with the decision).")] = "",
    target: TargetOption = None,
    duckdb_path: DuckDBOption = None,
    streams_dir: StreamsDirOption = None,
) -> None:
    """Choose which copy of a key held for conflicting copies an exactly_once stream
    publishes; the next run publishes it. Held keys: dq.<stream>_held_conflicts."""
    from onceonly.findings import require_built
    from onceonly.resolve import resolve as record
    from onceonly.targets import open_target

    settings = _settings(target, duckdb_path, streams_dir=streams_dir)
    [contract] = _streams(settings, [stream])
    warehouse = open_target(settings, create=False)
    try:
        require_built(warehouse, contract)
        done = record(warehouse, contract, key, keep, note)
    finally:
        warehouse.close()
    console.print(
        f"{shown(done.stream)} {shown(done.key)}: keeps {shown(done.kept.source_file)}:"
        f"{done.kept.line_number} of {counted(done.copies, 'copy', 'copies')}; the next run "
        "publishes it"
    )


airflow_app = typer.Typer(
    help="A real local Airflow for this project: scheduler, dag-processor, API server.",
    no_args_is_help=True,
)
app.add_typer(airflow_app, name="airflow")

AirflowHomeOption = Annotated[
    Path | None,
    typer.Option(help="Its Airflow home: config, logs, metadata database [.airflow/local]."),
]
PortOption = Annotated[
    int | None,
    typer.Option(min=1, max=65535, help="The API server's port [8080, or the one last used]."),
]


def _local_airflow(home: Path | None, port: int | None = None):  # type: ignore[no-untyped-def]
    from onceonly.orchestration.local_airflow import DEFAULT_HOME, LocalAirflow

    return LocalAirflow.at((home or DEFAULT_HOME).expanduser().resolve(), port)


@airflow_app.command("start")
def airflow_start(
    landing: LandingOption = None,
    target: TargetOption = None,
    duckdb_path: DuckDBOption = None,
    streams_dir: StreamsDirOption = None,
    home: AirflowHomeOption = None,
    port: PortOption = None,
) -> None:
    """Start the scheduler, the dag-processor and the API server (LocalExecutor, a
    PostgreSQL metadata database, the DAGs of dags/); returns once they are healthy. The
    tasks read the ONCEONLY_* settings and options given here. The DAGs start paused:
    unpause them in the UI or with `airflow dags unpause`."""
    settings = _settings(
        target=target, duckdb_path=duckdb_path, landing=landing, streams_dir=streams_dir
    )
    local = _local_airflow(home, port)
    started = local.start(settings)
    already = "" if started else " (already running: stop it first to change its settings)"
    console.print(f"Airflow at {local.url}{already}; home {shown(local.home)}")
    console.print(f"stop it with: onceonly airflow stop --home {shown(local.home)}")


@airflow_app.command("stop")
def airflow_stop(
    home: AirflowHomeOption = None,
    purge: Annotated[
        bool,
        typer.Option(help="Then delete its metadata database: run history, connections."),
    ] = False,
) -> None:
    """Stop every process of that Airflow (task processes included) and its database."""
    local = _local_airflow(home)
    ended = local.stop()
    if purge:
        local.forget()
    console.print(f"stopped {counted(ended, 'process', 'processes')} of {shown(local.home)}")


@airflow_app.command("status")
def airflow_status(home: AirflowHomeOption = None, port: PortOption = None) -> None:
    """Which components run, and what the API server says of their health. Exits 1 when
    a component is not running."""
    local = _local_airflow(home, port)
    down = []
    for component in ("scheduler", "dag-processor", "api-server"):
        pid = local.pid(component)
        console.print(f"{component}: {'running, pid ' + str(pid) if pid else 'not running'}")
        if pid is None:
            down.append(component)
    for part, status in local.health().items():
        console.print(f"{part}: {status}")
    if down:
        raise typer.Exit(exit_codes.FAILED)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the generated landing zone.")] = Path(
        "demo-landing"
    ),
    events: Annotated[int, typer.Option(min=1)] = 20_000,
    seed: Annotated[int, typer.Option()] = 42,
    duckdb_path: Annotated[Path, typer.Option(help="DuckDB file for the demo (recreated).")] = Path(
        "warehouse/demo.duckdb"
    ),
    outbox: Annotated[
        bool | None,
        typer.Option(
            "--outbox/--no-outbox",
            help="Also run the stock application that writes inventory through its outbox "
            "and the relay (PostgreSQL at ONCEONLY_OUTBOX_DSN, else the PostgreSQL target) "
            "[default: when that server answers].",
        ),
    ] = None,
    layout: Annotated[
        str,
        typer.Option(
            help="The layout the deliveries are written in: hourly, firehose or kafka_connect "
            "(the example declarations are copied to OUT/_streams/ with that layout)."
        ),
    ] = "hourly",
    format: Annotated[
        str, typer.Option("--format", help="jsonl or parquet, as for `onceonly generate`.")
    ] = "jsonl",
) -> None:
    """Generate messy deliveries into a fresh folder, run the main job on DuckDB, and
    compare the result with the generator's truth."""
    import shutil

    from onceonly.contract import Layout
    from onceonly.errors import ConfigError

    _check_layout_and_format(layout, format)
    if layout != Layout.HOURLY and outbox:
        raise typer.BadParameter(
            "the outbox relay writes the hourly layout", param_hint="--outbox with --layout"
        )

    if out.exists():
        made_here = (out / "_truth").is_dir() or (out.is_dir() and not any(out.iterdir()))
        if not made_here:
            raise ConfigError(
                f"{out} exists and is not a generated landing zone (no _truth/ folder): "
                "demo replaces its --out folder, so choose another one"
            )
        shutil.rmtree(out)
    for stale in (duckdb_path, Path(f"{duckdb_path}.wal")):
        stale.unlink(missing_ok=True)
    app_stream = _demo_outbox_stream(outbox if layout == Layout.HOURLY else False)
    generate(
        out=out,
        events=events,
        days=3,
        seed=seed,
        profile="messy",
        stream=None,
        layout=layout,
        format=format,
    )
    app = _run_stock_app(app_stream, out, seed) if app_stream is not None else None
    try:
        run(
            landing=str(out),
            target="duckdb",
            duckdb_path=duckdb_path,
            start=None,
            end=None,
            stream=None,
            streams_dir=_declared_in_layout(out, Layout(layout)),
            truth=out / "_truth",
        )
    except typer.Exit as exc:
        # the messy deliveries hold corrupt files and bad lines by design: the demo
        # fails only when the result differs from the truth or a check fails
        if exc.exit_code not in exit_codes.COMPLETED:
            raise
    if app is not None and app_stream is not None:
        _compare_app_stock(app_stream, app, duckdb_path)


def _check_layout_and_format(layout: str, format: str) -> None:
    from onceonly.contract import Layout

    if layout not in {str(v) for v in Layout}:
        raise typer.BadParameter(
            f"{layout!r}: expected one of {', '.join(Layout)}", param_hint="--layout"
        )
    if format not in ("jsonl", "parquet"):
        raise typer.BadParameter(f"{format!r}: expected jsonl or parquet", param_hint="--format")


def _declared_in_layout(out: Path, layout) -> Path | None:  # type: ignore[no-untyped-def]
    """The declared streams with ``layout`` (copies in OUT/_streams/, the originals
    untouched); None for the declarations as they are (hourly)."""
    import yaml  # type: ignore[import-untyped]

    from onceonly.contract import Layout

    if layout == Layout.HOURLY:
        return None
    folder = out / "_streams"
    folder.mkdir()
    for contract in _settings().streams().values():
        assert contract.source is not None
        declaration = yaml.safe_load(contract.source.read_text())
        declaration["layout"] = str(layout)
        (folder / contract.source.name).write_text(yaml.safe_dump(declaration, sort_keys=False))
    return folder


def _demo_outbox_stream(wanted: bool | None):  # type: ignore[no-untyped-def]
    """The stream the demo's stock application writes through its outbox, when it runs:
    asked for (--outbox: an unreachable server is an error), or by default when the
    outbox's PostgreSQL answers."""
    from onceonly import relay as outbox_relay
    from onceonly.generate.model import models

    if wanted is False:
        return None
    settings = _settings()
    chosen = [
        c for name, c in settings.streams().items() if c.outbox is not None and name in models()
    ]
    if not chosen:
        if wanted:
            raise outbox_relay.RelayError("no stream the generator knows declares an outbox")
        return None
    contract = chosen[0]
    try:
        outbox_relay.connect(settings, contract).close()
    except outbox_relay.RelayError as exc:
        if wanted:
            raise
        err_console.print(
            f"outbox example left out: no PostgreSQL answers at {shown(exc.where or exc)} "
            "(`make demo-outbox` runs it on a local one)"
        )
        return None
    return contract


def _run_stock_app(contract, out: Path, seed: int):  # type: ignore[no-untyped-def]
    """The stock application writes, the relay delivers into ``out``, and the truth
    takes in what was relayed."""
    from onceonly import relay as outbox_relay
    from onceonly.generate.stock_app import run_app
    from onceonly.generate.writer import add_deliveries

    settings = _settings(landing=out)
    app = run_app(
        lambda: outbox_relay.connect(settings, contract),
        contract,
        settings.landing_folder,
        seed=seed,
    )
    add_deliveries(out, contract.stream, app.files, by="outbox relay")
    console.print(
        f"stock application: {counted(len(app.movements), 'movement')} committed with their "
        f"outbox rows by 4 writers; the relay moved them in {counted(len(app.files), 'file')} "
        f"over {counted(app.passes, 'pass', 'passes')}, {app.held_back} of which held rows back "
        "behind a transaction still open"
    )
    return app


def _compare_app_stock(contract, app, duckdb_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The application's own stock table against the mart the facts computed."""
    from onceonly.errors import OnceOnlyError
    from onceonly.generate.stock_app import WAREHOUSE, stock_in_mart
    from onceonly.targets import open_target

    warehouse = open_target(_settings(target="duckdb", duckdb_path=duckdb_path), create=False)
    try:
        mart = stock_in_mart(warehouse)
    finally:
        warehouse.close()
    if mart != app.stock:
        differ = sorted(set(mart.items()) ^ set(app.stock.items()))[:3]
        raise OnceOnlyError(
            f"the stock application's stock differs from the facts' stock levels: {differ}"
        )
    console.print(
        f"stock application: its stock table equals the facts' stock levels in {WAREHOUSE} "
        f"({counted(len(mart), 'sku')})"
    )


@app.command()
def chaos(
    runs: Annotated[int, typer.Option(min=1, help="Runs, each on fresh generated data.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed for data and faults.")] = 1,
    target: TargetOption = None,
    events: Annotated[int, typer.Option(min=50, help="Events per run.")] = 600,
    first_run: Annotated[
        int, typer.Option(min=0, help="Number of the first run (to replay one).")
    ] = 0,
    stream: Annotated[
        str | None,
        typer.Option(help="A stream the generator simulates [the first it knows]."),
    ] = None,
    outbox: Annotated[
        bool,
        typer.Option(
            "--outbox",
            help="The outbox relay's campaign instead: concurrent writers, long and "
            "aborted transactions, relay kills (on the PostgreSQL target's server).",
        ),
    ] = False,
) -> None:
    """Inject failures into the real pipeline, recover, and compare with the truth.

    Exits 1 on any miss (an event lost or duplicated, a finding not flagged)."""
    from onceonly.chaos import run_chaos
    from onceonly.generate.model import models

    if outbox:
        _outbox_chaos(runs, seed, first_run)
        return

    known = models()
    stream = stream or next(iter(known))
    if stream not in known:
        raise typer.BadParameter(
            f"{stream!r}: the generator simulates {', '.join(known)}", param_hint="--stream"
        )
    settings = _settings(target, None)
    with _progress() as progress:
        task = progress.add_task("chaos runs", total=runs)
        summary = run_chaos(
            settings, stream, runs, seed, events, lambda *_: progress.advance(task), first_run
        )
    table = Table("measure", "value", title=f"chaos on {settings.target}, {stream} (seed {seed})")
    r = summary.runs
    rows = [
        ("runs", len(r)),
        *((f"faults: {k}", v) for k, v in sorted(summary.faults.items())),
        ("runs with exact facts", sum(x.exact for x in r)),
        ("events lost", sum(x.events_lost for x in r)),
        ("events duplicated", sum(x.events_duplicated for x in r)),
        (
            "gaps flagged / injected",
            f"{sum(x.gaps_flagged for x in r)} / {sum(x.gaps_injected for x in r)}",
        ),
        (
            "conflicts flagged / injected",
            f"{sum(x.conflicts_flagged for x in r)} / {sum(x.conflicts_injected for x in r)}",
        ),
        ("runs with a good report", sum(x.report_ok for x in r)),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    for number, outcome in enumerate(r):
        if outcome.notes or outcome.events_lost or outcome.events_duplicated:
            err_console.print(
                f"run {first_run + number} (faults: {', '.join(outcome.faults)}): "
                + "; ".join(outcome.notes or ["events lost or duplicated"])
            )
    if not summary.ok:
        raise typer.Exit(exit_codes.FAILED)


def _outbox_chaos(runs: int, seed: int, first_run: int) -> None:
    from onceonly.relay_chaos import run_outbox_chaos

    settings = _settings("postgres", None)
    with _progress() as progress:
        task = progress.add_task("outbox chaos runs", total=runs)
        outcomes = run_outbox_chaos(
            settings, runs, seed, lambda *_: progress.advance(task), first_run
        )
    kills = sum((o.kills for o in outcomes), Counter())
    table = Table("measure", "value", title=f"outbox relay chaos (seed {seed})")
    rows = [
        ("runs", len(outcomes)),
        ("rows committed", sum(o.committed for o in outcomes)),
        ("rows rolled back", sum(o.aborted for o in outcomes)),
        ("relay runs", sum(o.relays for o in outcomes)),
        *((f"relays killed: {k}", v) for k, v in sorted(kills.items())),
        ("runs with exact facts", sum(o.exact for o in outcomes)),
        ("rows lost", sum(o.lost for o in outcomes)),
        ("rows duplicated in the facts", sum(o.duplicated for o in outcomes)),
        ("rolled-back rows in the facts", sum(o.aborted_in_facts for o in outcomes)),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    if not all(o.exact for o in outcomes):
        raise typer.Exit(exit_codes.FAILED)


@app.command()
def bench(
    events: Annotated[
        int, typer.Option(min=1000, help="Delivered lines to measure on.")
    ] = 10_000_000,
    history: Annotated[
        list[int] | None,
        typer.Option(help="History sizes for the incremental cost (repeat the option)."),
    ] = None,
    batch: Annotated[
        int, typer.Option(min=1000, help="Copies in the batch taken in after each history.")
    ] = 1_000_000,
    target: TargetOption = None,
    workdir: Annotated[
        Path, typer.Option(help="Folder for the data and warehouses (emptied parts reused).")
    ] = Path("bench-work"),
    out: Annotated[Path, typer.Option(help="Where to write the JSON.")] = Path(
        "benchmarks/results/bench.json"
    ),
    peer: Annotated[
        list[str] | None,
        typer.Option(
            help="Also run this loader on the same landing zone, from its own environment "
            "under tools/ (`make peer-<name>`): dlt."
        ),
    ] = None,
) -> None:
    """Measure the pipeline against the hand-written floor, append-only and full refresh,
    with scaling by history and peak memory; print the ratios and write JSON."""
    import json
    import shutil

    from onceonly.bench.peers import peer as find_peer
    from onceonly.bench.suite import run_bench, table_rows
    from onceonly.errors import ConfigError

    settings = _settings(target, None)
    peers = tuple(find_peer(name) for name in peer or [])
    histories = history if history is not None else [5_000_000, 20_000_000, 50_000_000]
    marker = workdir / ".onceonly-bench"
    if workdir.exists():
        if not (marker.exists() or (workdir.is_dir() and not any(workdir.iterdir()))):
            raise ConfigError(
                f"{workdir} exists and is not a bench work folder (no {marker.name} in it): "
                "bench empties its --workdir, so choose another one"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    marker.touch()
    result = run_bench(
        events, histories, batch, settings, workdir, lambda m: err_console.print(m), peers
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    table = Table("measure", "figure", "aim", title=f"onceonly bench on {settings.target}")
    for row in table_rows(result):
        table.add_row(*row)
    console.print(table)
    console.print(f"JSON: {shown(out)}")


def main() -> None:
    try:
        app()
    except OnceOnlyError as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)  # one line, never wrapped
        sys.exit(exit_codes.USAGE)


def entry() -> None:
    """The console script and ``python -m onceonly``: ``main()``, then the exit without
    the interpreter's teardown. Once Airflow, dbt and GX are loaded, freeing every module
    object one by one takes 1.5-4 s of every command; the exit handlers (logging's flush,
    Airflow's) still run after the other threads end, and every file was closed by the code
    that opened it.
    """
    import atexit
    import os
    import threading

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for thread in threading.enumerate():  # as the interpreter's exit would
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
