"""The dbt models of every declared stream, derived from the declarations.

Each stream gets thin model files that call the project's generic macros
(``macros/streams/``) with the stream's names: staging, ranked copies, the facts (MERGE on
the key, windowed) and the dq models, each tagged ``stream:<name>``. They are written to
``<dbt project>/derived/`` (git-ignored), which ``dbt_project.yml`` lists among its model
and macro paths; every command that runs dbt writes them first, so they are never stale
and nothing per stream is written by hand. A generated macro ``declared_streams()`` lets
user-owned marts enable themselves only when their stream is declared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from onceonly.contract import ConflictRule, Field, Guarantee, Kind, StreamContract
from onceonly.quality.checks import declared_severity

DERIVED = "derived"
HEADER = "-- Derived from {source} by onceonly; do not edit (it is rewritten on every run).\n"


def _list(items: tuple[str, ...] | list[str]) -> str:
    return json.dumps(list(items)).replace('"', "'")


def _config(contract: StreamContract, **extra: str) -> str:
    options = [f"tags=['stream:{contract.stream}']", *(f"{k}={v}" for k, v in extra.items())]
    return "{{\n    config(\n        " + ",\n        ".join(options) + ",\n    )\n}}\n"


def _model(contract: StreamContract, body: str, **config: str) -> str:
    return (
        HEADER.format(source=_source_name(contract))
        + _config(contract, **config)
        + "\n"
        + body
        + "\n"
    )


def _source_name(contract: StreamContract) -> str:
    return contract.source.name if contract.source else f"{contract.stream}.yml"


def _version(contract: StreamContract) -> str:
    if contract.conflicts == ConflictRule.HIGHEST_VERSION and contract.version:
        return _quoted(contract.version)
    return "none"


def _call(macro: str, *args: object) -> str:
    """A model body that is one call of a project macro."""
    return f"{{{{ onceonly.{macro}({', '.join(map(str, args))}) }}}}"


def _quoted(name: str) -> str:
    return f"'{name}'"


#: where ``onceonly resolve`` records which copy of a held key is published
RESOLUTIONS = "source('raw', 'conflict_resolutions')"


def _layout(key: str) -> dict[str, str]:
    """Partitioned by event date and clustered by the key (on BigQuery)."""
    return {
        "partition_by": "onceonly.date_partition('_event_date')",
        "cluster_by": f"onceonly.clustered_by([{key}])",
    }


def _facts_model(
    contract: StreamContract, staging: str, key: str, fields: str, version: str
) -> str:
    """at_least_once: every valid copy appended; effectively_once: a MERGE on the key
    bounded by the dedup window; exactly_once: a view of the published writes."""
    layout = _layout(key)
    if not contract.guarantee.deduplicates:
        return _model(
            contract,
            _call("stream_appended", staging, fields),
            incremental_strategy="onceonly.append_strategy()",
            **layout,
        )
    if contract.guarantee == Guarantee.EXACTLY_ONCE:  # the writes up to the newest publish
        r = contract.relations
        return _model(
            contract,
            _call(
                "stream_published_facts",
                f"ref('{r.writes.name}')",
                f"ref('{r.publications.name}')",
                fields,
            ),
            materialized="'view'",
        )
    # first landed: the batch's keys the facts do not hold are inserted (insert_absent; a
    # MERGE on BigQuery whose update sets the key to itself); highest version: the batch
    # holds only newer versions, which a MERGE puts in place of the whole row
    strategy = (
        {"incremental_strategy": "onceonly.dedup_strategy()", "merge_update_columns": f"[{key}]"}
        if version == "none"
        else {"incremental_strategy": "'merge'"}
    )
    return _model(
        contract,
        _call("stream_facts", staging, key, fields, version),
        unique_key=key,
        **strategy,
        incremental_predicates=f"[onceonly.dedup_window_predicate({contract.dedup_window_days})]",
        **layout,
    )


def _write_audit_publish(
    contract: StreamContract, staging: str, key: str, fields: str
) -> dict[str, str]:
    """exactly_once: the write (the deduplicated batch appended to the writes), the audit
    (the batch, a view of the unpublished write, which its tests check) and the publish
    (a row naming the write, built after the tests; the facts view reads up to it). The
    writes and the publications are never rebuilt by --full-refresh: they are what was
    published."""
    s, r = contract.stream, contract.relations
    publications = _quoted(r.publications.name)
    return {
        f"intermediate/{s}/{r.writes.name}.sql": _model(
            contract,
            _call(
                "stream_batch",
                staging,
                key,
                fields,
                _quoted(r.writes.name),
                publications,
                _list(contract.content_fields),
                RESOLUTIONS,
                _quoted(s),
            ),
            materialized="'staged_write'",
            publications=publications,
            **_layout(key),
        ),
        f"intermediate/{s}/{r.unpublished_batch.name}.sql": _model(
            contract,
            _call("stream_unpublished", f"ref('{r.writes.name}')", publications),
            materialized="'view'",
        ),
        f"intermediate/{s}/{r.publications.name}.sql": _model(
            contract,
            _call("stream_publication", f"ref('{r.unpublished_batch.name}')"),
            materialized="'incremental'",
            incremental_strategy="onceonly.append_strategy()",
            full_refresh="false",
        ),
    }


def _arrived_events(contract: StreamContract) -> tuple[str, str]:
    """Where the stream's arrived events are, one row per key, and which rows: the facts;
    for exactly_once the first copy of every key (a key held or waiting to be published
    is not lost)."""
    r = contract.relations
    if contract.guarantee == Guarantee.EXACTLY_ONCE:
        return f"ref('{r.copies_ranked.name}')", "where='copy_rank = 1'"
    return f"ref('{r.facts.name}')", "where=none"


def stream_files(contract: StreamContract) -> dict[str, str]:
    """Relative path (under ``derived/models``) -> content, for one stream."""
    s, r = contract.stream, contract.relations
    fields = _list(contract.field_names)
    key, time = _quoted(contract.key), _quoted(contract.event_time)
    version = _version(contract)
    staging = f"ref('{r.staging.name}')"
    ranked = f"ref('{r.copies_ranked.name}')"
    files: dict[str, str] = {}
    files[f"staging/{s}/{r.staging.name}.sql"] = _model(
        contract,
        _call("stream_staging", f"source('raw', '{contract.raw_table}')", fields, time),
    )
    files[f"intermediate/{s}/{r.copies_ranked.name}.sql"] = _model(
        contract,
        _call("stream_copies_ranked", staging, key, time, _list(contract.content_fields), version),
        materialized="'incremental'",
        incremental_strategy="onceonly.copies_ranked_strategy()",
        unique_key=f"onceonly.copies_ranked_key({key})",
    )
    files[f"facts/{s}/{r.facts.name}.sql"] = _facts_model(contract, staging, key, fields, version)
    if contract.guarantee == Guarantee.EXACTLY_ONCE:
        files.update(_write_audit_publish(contract, staging, key, fields))
        conflicts = f"ref('{r.event_conflicts.name}')"
        files[f"dq/{s}/{r.held_conflicts.name}.sql"] = _model(
            contract,
            _call(
                "stream_held_conflicts",
                conflicts,
                f"ref('{r.facts.name}')",
                RESOLUTIONS,
                key,
                _quoted(s),
            ),
        )
    p = contract.producer
    if p is not None:
        epoch = _quoted(p.epoch) if p.epoch else "none"
        arrived, which = _arrived_events(contract)
        files[f"dq/{s}/{r.sequence_gaps.name}.sql"] = _model(
            contract,
            _call(
                "stream_sequence_gaps",
                arrived,
                _quoted(p.id),
                _quoted(p.sequence),
                epoch,
                p.sequence_start,
                which,
            ),
        )
    files[f"dq/{s}/{r.event_conflicts.name}.sql"] = _model(
        contract, _call("stream_event_conflicts", ranked, key, version)
    )
    files[f"dq/{s}/{r.late_duplicates.name}.sql"] = _model(
        contract,
        _call("stream_late_duplicates", ranked, key, time, contract.dedup_window_days),
    )
    files[f"dq/{s}/{r.batch_reconciliation.name}.sql"] = _model(
        contract,
        _call("stream_batch_reconciliation", "source('raw', 'load_ledger')", ranked, _quoted(s)),
    )
    files[f"dq/{s}/{r.file_outcomes.name}.sql"] = _model(
        contract, _call("stream_file_outcomes", f"ref('{r.batch_reconciliation.name}')")
    )
    files[f"{s}/_{s}__models.yml"] = _properties(contract)
    return files


def _two_values(f: Field) -> tuple[object, object] | None:
    """Two different values of a field's type, for a conflicting copy in a unit test."""
    if f.kind == Kind.ENUM:
        return (f.allowed[0], f.allowed[1]) if len(f.allowed) > 1 else None
    return {
        Kind.STRING: ("a", "b"),
        Kind.CODE: ("a", "b"),
        Kind.INTEGER: (1, 2),
        Kind.DECIMAL: (1, 2),
        Kind.BOOLEAN: (True, False),
        Kind.TIMESTAMP: ("2026-01-05 08:00:00", "2026-01-05 09:00:00"),
    }[f.kind]


def _unit_test(contract: StreamContract) -> dict[str, object] | None:
    """The facts keep one copy per key (at_least_once: every copy): a duplicated, a
    conflicting and a days-late event in one batch (first landed wins; streams whose
    highest version wins have their own rule and no generated test)."""
    if contract.conflicts != ConflictRule.FIRST_LANDED:
        return None
    if contract.guarantee == Guarantee.EXACTLY_ONCE:
        # its batch reads the published facts themselves, which a unit test cannot fix:
        # tests/test_guarantees.py drives it through real batches instead
        return None
    r, key, time = contract.relations, contract.key, contract.event_time
    keys = (1, 2, 3) if contract.get(key).kind == Kind.INTEGER else ("dup", "clash", "late")
    other = next(
        (
            (f.name, values)
            for f in contract.fields
            if f.name not in (key, time) and (values := _two_values(f)) is not None
        ),
        None,
    )

    def row(k: object, at: str, file: str, line: int, loaded: str, **extra: object) -> dict:
        return {
            key: k,
            time: at,
            "_event_date": at[:10],
            "_source_file": file,
            "_line_number": line,
            "_loaded_at": loaded,
            "_arrived_at": loaded,
            **extra,
        }

    dup, clash, late = keys
    first, second = ({other[0]: other[1][0]}, {other[0]: other[1][1]}) if other else ({}, {})
    given = [
        row(dup, "2026-01-05 10:00:00", "a.jsonl", 1, "2026-01-05 11:00:00"),
        row(dup, "2026-01-05 10:00:00", "a.jsonl", 2, "2026-01-05 11:00:00"),
        row(clash, "2026-01-05 10:05:00", "b.jsonl", 1, "2026-01-05 11:00:00", **first),
        row(clash, "2026-01-05 10:05:00", "a.jsonl", 3, "2026-01-05 12:00:00", **second),
        row(late, "2026-01-01 09:00:00", "c.jsonl", 7, "2026-01-05 11:00:00"),
    ]
    unset = {other[0]: None} if other else {}  # every expected row names the same columns
    shown = [key, "_source_file", "_line_number", *([other[0]] if other else [])]
    if not contract.guarantee.deduplicates:  # at_least_once: every copy, as delivered
        expect = [{c: g.get(c) for c in shown} for g in given]
        name = f"{r.facts.name}_keeps_every_copy"
    else:
        expect = [
            {key: dup, "_source_file": "a.jsonl", "_line_number": 1, **unset},
            {key: clash, "_source_file": "b.jsonl", "_line_number": 1, **first},
            {key: late, "_source_file": "c.jsonl", "_line_number": 7, **unset},
        ]
        name = f"{r.facts.name}_keeps_the_first_landed_copy"
    return {
        "name": name,
        "description": "A duplicated, a conflicting and a days-late event, all in one batch.",
        "model": r.facts.name,
        "overrides": {"macros": {"is_incremental": False}},
        "given": [{"input": f"ref('{r.staging.name}')", "rows": given}],
        "expect": {"rows": expect},
    }


@dataclass(frozen=True)
class Gate:
    """One check of an exactly_once batch that must pass before it is published: a dbt
    test on the batch, its failing rows stored in ``contract.relations.gate(name)``."""

    name: str
    description: str
    test: str
    arguments: dict[str, object]
    shown: tuple[str, ...]  # the columns of a failing row the report shows
    column: str | None = None  # a column test (unique, not_null) on this column

    def properties(self, contract: StreamContract) -> dict[str, object]:
        """The test as dbt's YAML writes it, storing its failures where the report reads."""
        config = {
            "store_failures": True,
            "schema": "dq",
            "alias": contract.relations.gate(self.name).name,
            "meta": {"gate": self.name},
        }
        arguments = {"arguments": self.arguments} if self.arguments else {}
        return {self.test: {**arguments, "config": config}}


def publish_gates(contract: StreamContract) -> list[Gate]:
    """exactly_once: the checks of every batch before it is published (error severity: a
    failure leaves the facts and marts as they were): each key once and present, each
    event time present; with producer roles and ``gaps.sequence_holes: error``, no hole
    in a producer's sequence; with ``control_totals``, each waiting file adds up to its
    manifest's totals. Each has a remedy that lets the batch pass later (the missing
    event delivered, the file landed again); checks of the whole table without one
    (``duplicates.sequence_unique``) run after publishing, in the GX checkpoint."""
    if contract.guarantee != Guarantee.EXACTLY_ONCE:
        return []
    r, key, time = contract.relations, contract.key, contract.event_time
    copy = ("_batch_id", "_source_file", "_line_number")
    history = {"writes": r.writes.name, "publications": r.publications.name}
    gates = [
        Gate(
            "key_unique",
            f"each {key} once in the batch and the published facts together",
            "unique_in_history",
            {"writes": r.writes.name},
            ("unique_field", "n_records"),
            key,
        ),
        Gate("key_present", f"every copy has a {key}", "not_null", {}, copy, key),
        Gate("time_present", f"every copy has a {time}", "not_null", {}, copy, time),
    ]
    declared = dict(contract.severities)
    p = contract.producer
    if p is not None and declared_severity(declared, "gaps.sequence_holes") == "error":
        gates.append(
            Gate(
                "sequence_holes",
                f"no hole in a producer's {p.sequence} across the published facts and the batch",
                "no_sequence_holes",
                {
                    **history,
                    "producer": p.id,
                    "sequence": p.sequence,
                    "start": p.sequence_start,
                    **({"epoch": p.epoch} if p.epoch else {}),
                },
                ("producer", "epoch", "first_missing", "last_missing"),
            )
        )
    if contract.control_totals:
        gates.append(
            Gate(
                "control_totals",
                "each waiting file's landed "
                + ", ".join(contract.control_totals)
                + " add up to its manifest's control totals",
                "control_totals_match",
                {
                    "staging": r.staging.name,
                    **history,
                    "stream": contract.stream,
                    "fields": list(contract.control_totals),
                },
                ("batch_id", "source_file", "field", "declared", "landed"),
            )
        )
    return gates


def _batch_properties(contract: StreamContract) -> list[dict[str, object]]:
    gates = publish_gates(contract)
    if not gates:
        return []
    r, key = contract.relations, contract.key
    columns: dict[str, list[object]] = {}
    for g in gates:
        if g.column:
            columns.setdefault(g.column, []).append(g.properties(contract))
    return [
        {
            "name": r.writes.name,
            "description": (
                f"Every row written (exactly_once), each {key} once, under its write number "
                "(`_write_id`): the published facts and the batch. Appended, never rebuilt."
            ),
        },
        {
            "name": r.publications.name,
            "description": (
                "One row per published write, recorded after the batch's tests passed; the "
                "facts are the writes up to the newest."
            ),
        },
        {
            "name": r.unpublished_batch.name,
            "description": (
                f"The rows written but not yet published (exactly_once): each {key} once, "
                "none published before. Its tests are the audit: the batch is published "
                "only when every one passes."
            ),
            "data_tests": [g.properties(contract) for g in gates if not g.column],
            "columns": [{"name": c, "data_tests": t} for c, t in columns.items()],
        },
    ]


def _held_properties(contract: StreamContract) -> list[dict[str, object]]:
    if contract.guarantee != Guarantee.EXACTLY_ONCE:
        return []
    key = contract.key
    return [
        {
            "name": contract.relations.held_conflicts.name,
            "description": (
                f"{key}s delivered with differing content, held out of the facts (exactly_once) "
                f"until `onceonly resolve --stream {contract.stream} --key ...` chooses a copy."
            ),
            "columns": [{"name": key, "data_tests": ["unique", "not_null"]}],
        }
    ]


def _published_key(contract: StreamContract) -> dict[str, object]:
    """exactly_once: the key's uniqueness is audited before each publish (the batch's
    checks), not after it, when a failure could no longer keep a row out."""
    return {
        "name": contract.key,
        "description": (
            "Unique: each batch is checked before it is published (each key once in the "
            "batch and the published facts together, over the whole history); the GX "
            "checkpoint checks every key afterwards."
        ),
        "data_tests": ["not_null"],
    }


def _facts_properties(contract: StreamContract) -> dict[str, object]:
    r, key = contract.relations, contract.key
    if not contract.guarantee.deduplicates:
        return {
            "name": r.facts.name,
            "description": (
                f"Every valid delivered copy (at_least_once): appended, duplicates of a {key} "
                "kept; the dq models count them."
            ),
            "columns": [
                {"name": key, "data_tests": ["not_null"]},
                {"name": "_event_date", "data_tests": ["not_null"]},
            ],
        }
    how = (
        f"Published by write-audit-publish: each batch deduplicated against every {key} "
        "ever published and written once; this view reads the writes up to the newest "
        "publication, which is recorded only when the batch's tests pass."
        if contract.guarantee == Guarantee.EXACTLY_ONCE
        else f"Incremental: the batch's {key}s the facts do not hold are inserted (a MERGE on "
        f"BigQuery), the look-up bounded to {contract.dedup_window_days} days before the "
        "batch's newest arrival."
    )
    return {
        "name": r.facts.name,
        "description": (
            f"Exactly one row per distinct valid {key} ever landed ({contract.conflicts.value} "
            f"wins). {how}"
        ),
        "columns": [
            _published_key(contract)
            if contract.guarantee == Guarantee.EXACTLY_ONCE
            else {
                "name": key,
                "description": (
                    "Unique. Each run checks the rows of the last "
                    f"{contract.dedup_window_days} days of events before the newest arrival, "
                    "what its windowed dedup promises (its cost follows the window, not the "
                    "history); the full audit checks every key. A duplicate older than the "
                    "dedup window can slip in until the full audit removes it: the dq models "
                    "list it as a late duplicate, and this test warns rather than stops the run."
                ),
                "data_tests": [
                    "not_null",
                    {
                        "unique_within_window": {
                            "arguments": {"days": contract.dedup_window_days},
                            "config": {"severity": "warn"},
                        }
                    },
                ],
            },
            {"name": "_event_date", "data_tests": ["not_null"]},
        ],
    }


def _properties(contract: StreamContract) -> str:
    """Descriptions and tests of a stream's derived models (YAML written as JSON)."""
    r = contract.relations
    key = contract.key
    description = contract.description or f"the {contract.stream} stream"
    models: list[dict[str, object]] = [
        {
            "name": r.staging.name,
            "description": f"One row per delivered copy of {description}, typed.",
            "columns": [
                {"name": key, "data_tests": ["not_null"]},
                {"name": contract.event_time, "data_tests": ["not_null"]},
                {"name": "_loaded_at", "data_tests": ["not_null"]},
            ],
        },
        {
            "name": r.copies_ranked.name,
            "description": f"Every landed copy ranked among the copies of its {key}.",
        },
        *_batch_properties(contract),
        _facts_properties(contract),
        {
            "name": r.event_conflicts.name,
            "description": (
                f"{key}s delivered with differing content; the kept copy is in the facts."
            ),
            "columns": [{"name": key, "data_tests": ["unique", "not_null"]}],
        },
        *_held_properties(contract),
        {
            "name": r.late_duplicates.name,
            "description": "Copies that arrived later than the dedup window after their event.",
            "data_tests": [
                {
                    "unique_combination_of_columns": {
                        "arguments": {
                            "combination_of_columns": [
                                key,
                                "source_file",
                                "line_number",
                                "batch_id",
                            ]
                        }
                    }
                }
            ],
        },
        {
            "name": r.batch_reconciliation.name,
            "description": "Per landing run and file: control total, lines, landed, quarantined, "
            "new events and duplicates by kind.",
            "data_tests": [
                {
                    "expression_is_true": {
                        "arguments": {
                            "expression": "status <> 'landed' or lines = landed + quarantined"
                        }
                    }
                },
                {
                    "expression_is_true": {
                        "arguments": {
                            "expression": (
                                "landed = new_events + duplicates_in_file + duplicates_of_earlier"
                            )
                        }
                    }
                },
            ],
        },
        {
            "name": r.file_outcomes.name,
            "description": "Per delivered file: its first landed attempt if it ever landed, "
            "else its latest attempt (skipped as a copy of another file, or rejected).",
            "columns": [{"name": "source_file", "data_tests": ["unique", "not_null"]}],
        },
    ]
    p = contract.producer
    if p is not None:
        group = [p.id, *([p.epoch] if p.epoch else []), "first_missing"]
        models.append(
            {
                "name": r.sequence_gaps.name,
                "description": f"Every hole in a producer's {p.sequence} (per epoch): lost events.",
                "data_tests": [
                    {
                        "unique_combination_of_columns": {
                            "arguments": {"combination_of_columns": group}
                        }
                    }
                ],
            }
        )
    body: dict[str, object] = {"version": 2, "models": models}
    unit_test = _unit_test(contract)
    if unit_test is not None:
        body["unit_tests"] = [unit_test]
    header = f"# Derived from {_source_name(contract)} by onceonly; do not edit.\n"
    return header + json.dumps(body, indent=2) + "\n"


def _sources(streams: list[StreamContract]) -> str:
    tables: list[dict[str, object]] = [
        {
            "name": c.raw_table,
            "description": f"Every delivered copy of {c.stream}, typed by its declaration.",
        }
        for c in streams
    ]
    shared = [
        ("load_ledger", "One row per load attempt of a file.", "attempted_at"),
        (
            "quarantine",
            "Lines rejected by a declaration, with file, line, raw text and reason.",
            "quarantined_at",
        ),
        (
            "manifest_totals",
            "Per landed file, the control totals its manifest declares.",
            "recorded_at",
        ),
        (
            "conflict_resolutions",
            "exactly_once: the copy `onceonly resolve` chose per conflicting key.",
            "resolved_at",
        ),
    ]
    tables += [
        {"name": name, "description": text, "config": {"loaded_at_field": loaded}}
        for name, text, loaded in shared
    ]
    body = {
        "version": 2,
        "sources": [
            {
                "name": "raw",
                "description": "Every delivered copy, as landed by `onceonly land` (append-only).",
                "schema": "{{ env_var('ONCEONLY_SCHEMA_PREFIX', '') }}raw",
                "config": {
                    "loaded_at_field": "_loaded_at",
                    "freshness": {
                        "warn_after": {"count": 2, "period": "hour"},
                        "error_after": {"count": 26, "period": "hour"},
                    },
                },
                "tables": tables,
            }
        ],
    }
    return (
        "# Derived from the stream declarations by onceonly; do not edit.\n"
        + json.dumps(body, indent=2)
        + "\n"
    )


def _declared_macro(streams: list[StreamContract]) -> str:
    names = _list(sorted(c.stream for c in streams))
    return (
        "{#- Derived from the stream declarations by onceonly; do not edit. -#}\n"
        "{% macro declared_streams() -%}\n"
        f"    {{{{ return({names}) }}}}\n"
        "{%- endmacro %}\n"
    )


def derived_files(streams: list[StreamContract]) -> dict[str, str]:
    """Every derived file (relative to ``derived/``) for the declared streams."""
    files = {"models/_raw__sources.yml": _sources(streams)}
    for c in streams:
        files.update({f"models/{k}": v for k, v in stream_files(c).items()})
    files["macros/declared_streams.sql"] = _declared_macro(streams)
    return files


def sync(dbt_project: Path, streams: list[StreamContract]) -> bool:
    """Write the derived files of ``streams`` into ``dbt_project/derived``; remove files of
    streams no longer declared. True when anything changed."""
    root = dbt_project / DERIVED
    wanted = derived_files(streams)
    changed = False
    for rel, text in wanted.items():
        path = root / rel
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed = True
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in wanted:
                path.unlink()
                changed = True
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return changed
