"""The landing zone layout: ``<landing>/<stream>/dt=YYYY-MM-DD/hour=HH/<name>.<format>``,
the format JSONL (``.jsonl``, ``.jsonl.gz``) or Parquet (``.parquet``).

Finds data files and their manifests for an arrival interval and reads them into lines.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onceonly.bytescan import positions
from onceonly.contract import Layout
from onceonly.errors import LandingPathError
from onceonly.object_store import Bucket, ObjectZone, StoredObject, hours
from onceonly.settings import DEFAULT_LIMITS, Limits

PARQUET_SUFFIX = ".parquet"
DATA_SUFFIXES = (".jsonl", ".jsonl.gz", PARQUET_SUFFIX)
MANIFEST_SUFFIX = ".manifest.json"
_PARTITION = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$"), re.compile(r"^hour=(\d{2})$")
UTF8_BOM = b"\xef\xbb\xbf"
#: What the quarantine keeps of a line above the line limit.
KEPT_CHARS = 1024


@dataclass(frozen=True)
class LandingFile:
    path: Path | None  # the file on disk; None for an object in a bucket
    source_file: str  # relative to the landing root, '/'-separated: the stable name
    arrived_at: datetime  # the arrival hour, UTC (naive)
    #: in a bucket: the object's version, its manifest's, and the bucket to read them from
    stored: StoredObject | None = None
    stored_manifest: StoredObject | None = None
    bucket: Bucket | None = field(default=None, compare=False, repr=False)
    #: records are JSON objects one after another, not one per line (Firehose)
    concatenated: bool = False

    @property
    def name(self) -> str:
        return (
            self.stored.name.rsplit("/", 1)[-1]
            if self.stored
            else self.source_file.rsplit("/", 1)[-1]
        )

    @property
    def compressed(self) -> bool:
        return self.name.endswith(".gz")

    @property
    def manifest_name(self) -> str:
        return self.name + MANIFEST_SUFFIX


#: Each layout's path under the stream's folder, as refusals name it.
LAYOUTS = {
    Layout.HOURLY: "<stream>/dt=YYYY-MM-DD/hour=HH/<name>.jsonl[.gz] or <name>.parquet",
    Layout.FIREHOSE: "<stream>/YYYY/MM/dd/HH/<name>",
    Layout.KAFKA_CONNECT: "<stream>/partition=<p>/<topic>+<p>+<start offset>.json[.gz]",
}
_FIREHOSE_HOUR = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})$")


def arrival_hour(
    layout: Layout, parts: tuple[str, ...] | list[str], written: float | None = None
) -> datetime | None:
    """The arrival hour a data file's path under its stream's folder gives, or (Kafka
    Connect, whose paths hold no time) the hour it was ``written`` (None: the path does not
    follow the layout)."""
    if layout == Layout.KAFKA_CONNECT:
        from onceonly.offsets import sink_file

        named = sink_file("/".join(parts)) if len(parts) == 2 else None
        if named is None or written is None:
            return None
        at = datetime.fromtimestamp(written, UTC).replace(tzinfo=None)
        return at.replace(minute=0, second=0, microsecond=0)
    if layout == Layout.FIREHOSE:
        m = _FIREHOSE_HOUR.match("/".join(parts[:4])) if len(parts) == 5 else None
        if m is None:
            return None
        try:
            year, month, day, hour = (int(g) for g in m.groups())
            return datetime(year, month, day, hour)
        except ValueError:
            return None
    return _parse_hour(*parts[:2]) if len(parts) == 3 else None


def hour_folder(layout: Layout, stream: str, hour: datetime) -> str:
    """The folder (prefix) of one arrival hour's files, with a trailing '/'."""
    if layout == Layout.FIREHOSE:
        return f"{stream}/{hour:%Y/%m/%d/%H}/"
    return f"{stream}/dt={hour:%Y-%m-%d}/hour={hour:%H}/"


def _data_name(layout: Layout, name: str) -> bool:
    """Firehose names its objects freely; hourly files say their format, as a sink's do."""
    if layout == Layout.KAFKA_CONNECT:
        return name.endswith((*DATA_SUFFIXES, ".json", ".json.gz"))
    return layout == Layout.FIREHOSE or name.endswith(DATA_SUFFIXES)


def _parse_hour(dt_dir: str, hour_dir: str) -> datetime | None:
    m_dt, m_hour = _PARTITION[0].match(dt_dir), _PARTITION[1].match(hour_dir)
    if not (m_dt and m_hour):
        return None
    try:
        day = datetime.strptime(m_dt.group(1), "%Y-%m-%d")
    except ValueError:
        return None
    hour = int(m_hour.group(1))
    return day + timedelta(hours=hour) if hour < 24 else None


def _naive_utc(t: datetime | None) -> datetime | None:
    if t is None or t.tzinfo is None:
        return t
    return t.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Refused:
    """An entry of the landing zone that is not read: recorded in the ledger (status
    ``rejected``) with the reason, never skipped silently."""

    source_file: str
    arrived_at: datetime | None
    reason: str
    size_bytes: int | None = None


@dataclass(frozen=True)
class Discovery:
    files: list[LandingFile]
    refused: list[Refused]  # entries under the stream that are not data files to read


def _refusal(path: Path, name: str, arrived: datetime | None, layout: Layout) -> str | None:
    """Why an entry is not read as a data file (None: it is one)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link: only regular files under the landing root are read"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a FIFO, socket or device): not read"
    if name.startswith("."):
        return "a hidden file: not landed (a name starting with '.')"
    if name.endswith(MANIFEST_SUFFIX):
        if not path.with_name(name.removesuffix(MANIFEST_SUFFIX)).exists():
            return "a manifest without its data file"
        return None
    if arrived is None or not _data_name(layout, name):
        return f"does not follow the layout {LAYOUTS[layout]}"
    return None


def discover(
    landing: Path | ObjectZone,
    stream: str,
    start: datetime | None = None,
    end: datetime | None = None,
    layout: Layout = Layout.HOURLY,
) -> Discovery:
    """Data files of ``stream`` whose arrival hour is in [start, end), in landing order,
    and the entries that are not read (symbolic links, which are never followed, FIFOs and
    devices, hidden and misnamed files, manifests without data).

    Landing order is the arrival hour, then the file name: the order in which an hourly
    scheduler would land them, which fixes the tie-break between copies.
    """
    start, end = _naive_utc(start), _naive_utc(end)
    if isinstance(landing, ObjectZone):
        return _discover_objects(landing, stream, start, end, layout)
    landing = Path(landing)
    if not landing.is_dir():
        raise LandingPathError(landing, "landing folder does not exist or is not a folder")
    root = landing / stream
    if root.is_symlink() or not root.is_dir():
        raise LandingPathError(root, f"no folder for stream {stream!r} in the landing zone")
    files: list[LandingFile] = []
    refused: list[Refused] = []

    def in_interval(arrived: datetime | None) -> bool:
        return _in_interval(arrived, start, end)

    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs.sort()
        for name in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(name)
            rel = (here / name).relative_to(landing).as_posix()
            refused.append(Refused(rel, None, "a symbolic link to a folder: not followed"))
        for name in sorted(names):
            path = here / name
            # (only a sink's files arrive when written: their paths hold no time)
            written = os.lstat(path).st_mtime if layout == Layout.KAFKA_CONNECT else None
            arrived = arrival_hour(layout, path.relative_to(root).parts, written)
            if not in_interval(arrived):
                continue
            rel = path.relative_to(landing).as_posix()
            reason = _refusal(path, name, arrived, layout)
            if reason is not None:
                refused.append(Refused(rel, arrived, reason, os.lstat(path).st_size))
            elif not name.endswith(MANIFEST_SUFFIX):
                assert arrived is not None
                files.append(
                    LandingFile(path, rel, arrived, concatenated=layout == Layout.FIREHOSE)
                )
    return Discovery(_landing_order(files), refused)


def _in_interval(arrived: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    return arrived is None or not (
        (start is not None and arrived < start) or (end is not None and arrived >= end)
    )


def _landing_order(files: list[LandingFile]) -> list[LandingFile]:
    """Arrival hour, then name, then (versions of one object) the order they were written."""
    return sorted(
        files,
        key=lambda f: (f.arrived_at, f.name, (f.stored.written, f.stored.rank) if f.stored else ()),
    )


def _discover_objects(
    zone: ObjectZone, stream: str, start: datetime | None, end: datetime | None, layout: Layout
) -> Discovery:
    """discover() in a bucket: the interval's hour prefixes are listed (the whole stream's
    prefix without an interval); every version of a data object is a file to land, with
    the current version of its manifest."""
    bucket = zone.bucket_client()
    prefixes = [f"{stream}/"]  # without an interval: the stream's whole prefix
    if start is not None and end is not None and layout != Layout.KAFKA_CONNECT:
        # (a sink's paths hold no time: its whole prefix is listed, the interval applied
        # to when each object was written)
        prefixes = [hour_folder(layout, stream, h) for h in hours(start, end)]
    data: list[tuple[StoredObject, datetime]] = []
    manifests: dict[str, StoredObject] = {}
    refused: list[Refused] = []
    for prefix in prefixes:
        for obj in bucket.versions(prefix):
            parts = obj.name.split("/")
            arrived = arrival_hour(layout, parts[1:], obj.written)
            if not _in_interval(arrived, start, end):
                continue
            base = parts[-1]
            if base.startswith("."):
                reason: str | None = "a hidden file: not landed (a name starting with '.')"
            elif base.endswith(MANIFEST_SUFFIX):
                if obj.latest:
                    manifests[obj.name.removesuffix(MANIFEST_SUFFIX)] = obj
                reason = None
            elif arrived is None or not _data_name(layout, base):
                reason = f"does not follow the layout {LAYOUTS[layout]}"
            else:
                data.append((obj, arrived))
                reason = None
            if reason is not None:
                refused.append(Refused(obj.source_file, arrived, reason, obj.size))
    named = {obj.name for obj, _ in data}
    for name, manifest in manifests.items():
        if name not in named:
            refused.append(
                Refused(
                    manifest.source_file, None, "a manifest without its data file", manifest.size
                )
            )
    files = [
        LandingFile(
            None,
            obj.source_file,
            arrived,
            obj,
            manifests.get(obj.name),
            bucket,
            concatenated=layout == Layout.FIREHOSE,
        )
        for obj, arrived in data
    ]
    return Discovery(_landing_order(files), refused)


@dataclass
class FileContent:
    sha256: str | None  # None when the file was not read whole (see manifest_problem)
    size_bytes: int | None
    lines: pa.LargeStringArray  # one element per line, with its line ending (split_lines)
    pre_codes: dict[int, tuple[str, str]]  # 0-based line -> (code, reason) found while reading
    manifest_problem: str | None  # set: the file is rejected whole, for this reason
    manifest_record_count: int | None
    #: the producer's sum of each control-total field over the file's lines, as sent
    manifest_totals: dict[str, Decimal] = field(default_factory=dict)


_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_MAX_RECORD_COUNT = 2**63 - 1
MANIFEST_BYTES = 64 * 1024


#: What raw.manifest_totals holds: decimal(38,9).
_TOTAL_DIGITS, _TOTAL_SCALE = 38, 9


def _control_totals(
    name: str, given: object, fields: tuple[str, ...]
) -> tuple[dict[str, Decimal], str | None]:
    """A manifest's ``control_totals``: {field: sum} for fields the stream declares as
    control totals, each a JSON number or decimal string that fits decimal(38,9)."""
    if given is None:
        return {}, None
    if not isinstance(given, dict):
        return {}, f"manifest {name}: control_totals must be an object of field: sum"
    totals: dict[str, Decimal] = {}
    for key, value in given.items():
        if key not in fields:
            declared = ", ".join(fields) or "none"
            return {}, (
                f"manifest {name}: control total {key!r} is not a control_totals field of the "
                f"stream (declared: {declared})"
            )
        try:
            if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
                raise InvalidOperation
            number = Decimal(value)
            exponent = number.as_tuple().exponent
            if not number.is_finite() or (isinstance(exponent, int) and -exponent > _TOTAL_SCALE):
                raise InvalidOperation
            if abs(number) >= Decimal(10) ** (_TOTAL_DIGITS - _TOTAL_SCALE):
                raise InvalidOperation
        except InvalidOperation:
            return {}, (
                f"manifest {name}: control total {key!r} must be a number with at most "
                f"{_TOTAL_SCALE} decimal places and {_TOTAL_DIGITS - _TOTAL_SCALE} integer digits"
            )
        totals[key] = number
    return totals, None


@dataclass(frozen=True)
class Manifest:
    record_count: int
    sha256: str
    control_totals: dict[str, Decimal]


def _read_manifest(
    lf: LandingFile, control_fields: tuple[str, ...] = ()
) -> tuple[Manifest | None, str | None]:
    if lf.stored is not None:
        if lf.stored_manifest is None:
            return None, None
        raw, problem = _read_stored(lf, lf.stored_manifest, MANIFEST_BYTES, "manifest")
    else:
        assert lf.path is not None
        if not lf.path.with_name(lf.manifest_name).exists():
            return None, None
        raw, problem = _read_regular(
            lf.path.with_name(lf.manifest_name), MANIFEST_BYTES, "manifest"
        )
    if problem is not None:
        return None, problem
    name = lf.manifest_name
    try:
        manifest = json.loads(raw, parse_float=Decimal)
    except RecursionError:
        return None, f"manifest {name} is nested too deeply"
    except ValueError as exc:
        return None, f"manifest {name} is not readable JSON ({exc})"
    if not isinstance(manifest, dict):
        return None, f"manifest {name} is not a JSON object"
    count, sha = manifest.get("record_count"), manifest.get("sha256")
    if type(count) is not int or not 0 <= count <= _MAX_RECORD_COUNT:
        return None, f"manifest {name} needs an integer record_count from 0 to 2^63-1"
    if not isinstance(sha, str) or not _SHA256.match(sha):
        return None, f"manifest {name} needs a sha256 of 64 hex digits"
    totals, problem = _control_totals(name, manifest.get("control_totals"), control_fields)
    if problem is not None:
        return None, problem
    return Manifest(count, sha.lower(), totals), None


def _read_regular(path: Path, limit: int, what: str, setting: str = "") -> tuple[bytes, str | None]:
    """The bytes of a regular file of at most ``limit`` bytes (``setting`` names the
    limit), opened without following a symbolic link and without blocking on a FIFO; else
    the reason it was not read."""
    named = f" ({setting})" if setting else ""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return b"", f"the {what} is a symbolic link: not followed"
        return b"", f"cannot open the {what} ({exc.strerror or exc})"
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            return b"", f"the {what} is not a regular file"
        if st.st_size > limit:
            return b"", f"the {what} is {st.st_size:,} bytes, above the limit of {limit:,}{named}"
        try:
            raw = fh.read(limit + 1)
        except OSError as exc:
            return b"", f"cannot read the {what} ({exc.strerror or exc})"
    if len(raw) > limit:
        return b"", f"the {what} grew above the limit of {limit:,} bytes while read{named}"
    return raw, None


def _read_stored(
    lf: LandingFile, obj: StoredObject, limit: int, what: str, setting: str = ""
) -> tuple[bytes, str | None]:
    """An object's bytes, of exactly the version listed, within ``limit``; else the reason
    it was not read (a bucket that cannot be reached raises, for the task to retry)."""
    assert lf.bucket is not None
    named = f" ({setting})" if setting else ""
    if obj.size > limit:
        return b"", f"the {what} is {obj.size:,} bytes, above the limit of {limit:,}{named}"
    raw = lf.bucket.read(obj, limit)
    if len(raw) > limit:
        return b"", f"the {what} grew above the limit of {limit:,} bytes while read{named}"
    return raw, None


def split_lines(
    data: bytes, max_line_bytes: int = DEFAULT_LIMITS.line_bytes
) -> tuple[pa.LargeStringArray, dict[int, tuple[str, str]]]:
    """Split on LF; strip a leading BOM. Each line keeps its line ending (the LF and the
    CRs before it, see ``validation.line_text``): the lines are a view of the file's bytes, with no
    copy and no Python object per line.

    Lines that are not valid UTF-8 are reported by 0-based index, their text kept with bad
    bytes escaped; lines longer than ``max_line_bytes`` (line ending aside) are reported and
    cut to their first ``KEPT_CHARS`` characters (what the quarantine keeps of them).
    """
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data:
        return pa.array([], pa.large_string()), {}
    if not data.endswith(b"\n"):
        data += b"\n"
    bad: dict[int, tuple[str, str]] = {}
    if not _is_utf8(data):
        data, bad = _escape_bad_lines(data)
    ends = positions(np.frombuffer(data, np.uint8), ord("\n"))
    offsets = np.concatenate(([0], ends + 1)).astype(np.int64)
    lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    lengths = np.diff(offsets) - 1
    if int(lengths.max()) > max_line_bytes:
        long = np.flatnonzero(lengths > max_line_bytes)
        mask = np.zeros(len(ends), dtype=bool)
        mask[long] = True
        kept = pc.utf8_slice_codeunits(lines, 0, KEPT_CHARS)
        lines = pc.if_else(pa.array(mask), kept, lines)
        for i in long.tolist():
            bad[i] = (
                "line_too_long",
                f"line is {int(lengths[i]):,} bytes, above the limit of {max_line_bytes:,} "
                f"(ONCEONLY_MAX_LINE_BYTES); its first {KEPT_CHARS:,} characters kept",
            )
    return lines, bad


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, by Arrow's vectorised check: as strict as Python's
    decoder (no surrogates, overlong forms or code points above U+10FFFF), without
    building a str of the whole file (1.4 s per 300 MB)."""
    whole = pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(np.array([0, len(data)], np.int64)), pa.py_buffer(data)
    )
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _escape_bad_lines(data: bytes) -> tuple[bytes, dict[int, tuple[str, str]]]:
    """Rewrite each line holding invalid UTF-8 with its bad bytes escaped (\\xNN)."""
    bad: dict[int, tuple[str, str]] = {}
    pieces: list[bytes] = []
    pos = 0
    while True:
        try:
            data[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            at = pos + exc.start
            start = data.rfind(b"\n", 0, at) + 1
            end = data.index(b"\n", at)
            line_index = data.count(b"\n", 0, start)
            pieces += [
                data[pos:start],
                data[start:end].decode("utf-8", "backslashreplace").encode(),
            ]
            bad[line_index] = ("bad_utf8", f"line is not valid UTF-8 (byte {at - start + 1})")
            pos = end
    pieces.append(data[pos:])
    return b"".join(pieces), bad


class _TooLarge(Exception):
    pass


def gunzip(raw: bytes, limit: int) -> bytes:
    """Every gzip member of ``raw``, decompressed in bounded steps: _TooLarge beyond
    ``limit`` bytes (a small file cannot expand into memory), EOFError when cut short."""
    pieces: list[bytes] = []
    size = 0
    data = raw
    while True:
        d = zlib.decompressobj(wbits=31)
        while not d.eof:
            piece = d.decompress(data, limit + 1 - size)
            size += len(piece)
            if size > limit:
                raise _TooLarge
            pieces.append(piece)
            data = d.unconsumed_tail
            if not piece and not data:
                raise EOFError("the gzip data ends early")
        data = d.unused_data
        if not data.strip(b"\0"):  # trailing zero padding, as gzip itself allows
            return b"".join(pieces)


def _json_value(value: object) -> object:
    """orjson's fallback for Parquet values JSON has no type for: decimals as decimal
    strings (as a JSONL producer sends them), bytes as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    raise TypeError(f"no JSON form for {type(value).__name__}")


def parquet_as_jsonl(raw: bytes, limit: int) -> tuple[bytes, str | None]:
    """A Parquet file's rows as JSON lines, one per row in file order, so each row is
    validated against the declaration and quarantined alone as the same event in JSONL
    would be: a column's values take their JSON form (integers and floats as numbers,
    strings, timestamps with a zone as RFC 3339 with its offset, a timestamp without one
    without, decimals as decimal strings, nulls as null). ``limit`` bounds the rows' size
    uncompressed, checked from the footer before any row is read."""
    import orjson
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(pa.BufferReader(raw))
        meta = parquet.metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > limit:
            return b"", (
                f"decompresses to more than {limit:,} bytes (ONCEONLY_MAX_DECOMPRESSED_BYTES)"
            )
        rows = parquet.read().to_pylist()
    except (pa.ArrowException, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return b"", f"not a readable Parquet file ({first})"
    newline = orjson.OPT_APPEND_NEWLINE
    return b"".join(orjson.dumps(r, default=_json_value, option=newline) for r in rows), None


#: A record's end followed by the next one's start on the same line.
_RECORDS_ADJOIN = re.compile(rb"\}[ \t\r]*\{")
#: What moves the nesting depth, strings skipped whole.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}]')


def records_as_lines(data: bytes) -> bytes:
    """Firehose's records, JSON objects written one after another with or without a
    newline between them, one per line. A line where one object ends and the next begins
    is split where its top-level objects end (braces inside strings do not count), text
    between objects a line of its own, so a broken record is quarantined alone and never
    swallows the lines after it; every other line, blank ones too, stays as it is."""
    if _RECORDS_ADJOIN.search(data) is None:
        return data  # one record per line already
    out: list[bytes] = []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the file's last line ending
    for line in lines:
        if _RECORDS_ADJOIN.search(line) is None:
            out.append(line)
            continue
        depth, start = 0, 0
        for m in _JSON_TOKENS.finditer(line):
            token = m.group()
            if token == b"{":
                if depth == 0:
                    if line[start : m.start()].strip():
                        out.append(line[start : m.start()].strip())
                    start = m.start()
                depth += 1
            elif token == b"}" and depth > 0:
                depth -= 1
                if depth == 0:
                    out.append(line[start : m.end()])
                    start = m.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    return b"".join(record + b"\n" for record in out)


def read_file(
    lf: LandingFile, limits: Limits = DEFAULT_LIMITS, control_fields: tuple[str, ...] = ()
) -> FileContent:
    """Read a data file within ``limits``, check it against its manifest, and split it
    into lines (a line above the line limit is cut and marked ``line_too_long``). The
    manifest may declare control totals of the stream's ``control_fields``.

    A manifest mismatch, an unreadable/corrupt or oversized file sets
    ``manifest_problem``: the file must then be rejected whole.
    """
    empty: pa.LargeStringArray = pa.array([], pa.large_string())
    if lf.stored is not None:
        raw, problem = _read_stored(
            lf, lf.stored, limits.file_bytes, "file", "ONCEONLY_MAX_FILE_BYTES"
        )
    else:
        assert lf.path is not None
        raw, problem = _read_regular(lf.path, limits.file_bytes, "file", "ONCEONLY_MAX_FILE_BYTES")
    if problem is not None:
        return FileContent(None, None, empty, {}, problem, None)
    sha = hashlib.sha256(raw).hexdigest()
    manifest, problem = _read_manifest(lf, control_fields)
    data = raw
    if lf.name.endswith(PARQUET_SUFFIX) and problem is None:
        data, problem = parquet_as_jsonl(raw, limits.decompressed_bytes)
    elif lf.compressed and problem is None:
        try:
            data = gunzip(raw, limits.decompressed_bytes)
        except _TooLarge:
            problem = (
                f"decompresses to more than {limits.decompressed_bytes:,} bytes "
                "(ONCEONLY_MAX_DECOMPRESSED_BYTES)"
            )
        except (EOFError, zlib.error) as exc:
            problem = f"not a readable gzip file ({exc})"
        if problem is not None:
            data = b""
    if lf.concatenated and problem is None and not lf.name.endswith(PARQUET_SUFFIX):
        data = records_as_lines(data)
    lines, bad = split_lines(data, limits.line_bytes) if problem is None else (empty, {})
    count, totals = None, {}
    if manifest is not None:
        count, totals = manifest.record_count, manifest.control_totals
        if problem is None and manifest.sha256 != sha:
            problem = "manifest sha256 does not match the file (truncated or corrupt delivery)"
        elif problem is None and count != len(lines):
            problem = f"manifest record_count {count} but the file has {len(lines)} lines"
    return FileContent(sha, len(raw), lines, bad, problem, count, totals)
