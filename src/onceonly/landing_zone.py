"""The landing zone layout: ``<landing>/<stream>/dt=YYYY-MM-DD/hour=HH/<name>.jsonl[.gz]``.

Finds data files and their manifests for an arrival interval and reads them into lines.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onceonly.errors import LandingPathError

DATA_SUFFIXES = (".jsonl", ".jsonl.gz")
MANIFEST_SUFFIX = ".manifest.json"
_PARTITION = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$"), re.compile(r"^hour=(\d{2})$")
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandingFile:
    path: Path
    source_file: str  # relative to the landing root, '/'-separated: the stable name
    arrived_at: datetime  # the arrival hour, UTC (naive)

    @property
    def compressed(self) -> bool:
        return self.path.name.endswith(".gz")

    @property
    def manifest_path(self) -> Path:
        return self.path.with_name(self.path.name + MANIFEST_SUFFIX)


@dataclass(frozen=True)
class Discovery:
    files: list[LandingFile]
    ignored: list[str]  # paths under the stream that do not follow the layout


def partition_path(stream: str, hour: datetime) -> str:
    return f"{stream}/dt={hour:%Y-%m-%d}/hour={hour:%H}"


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


def discover(
    landing: Path, stream: str, start: datetime | None = None, end: datetime | None = None
) -> Discovery:
    """Data files of ``stream`` whose arrival hour is in [start, end), in landing order.

    Landing order is the arrival hour, then the file name: the order in which an hourly
    scheduler would land them, which fixes the tie-break between copies.
    """
    landing = Path(landing)
    if not landing.is_dir():
        raise LandingPathError(landing, "landing folder does not exist or is not a folder")
    root = landing / stream
    if not root.is_dir():
        raise LandingPathError(root, f"no folder for stream {stream!r} in the landing zone")
    start, end = _naive_utc(start), _naive_utc(end)
    files: list[LandingFile] = []
    ignored: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(landing).as_posix()
        if path.name.endswith(MANIFEST_SUFFIX) or path.name.startswith("."):
            continue
        parts = path.relative_to(root).parts
        arrived = _parse_hour(*parts[:2]) if len(parts) == 3 else None
        if arrived is None or not path.name.endswith(DATA_SUFFIXES):
            ignored.append(rel)
            continue
        if (start is not None and arrived < start) or (end is not None and arrived >= end):
            continue
        files.append(LandingFile(path, rel, arrived))
    files.sort(key=lambda f: (f.arrived_at, f.path.name))
    return Discovery(files, ignored)


@dataclass
class FileContent:
    sha256: str
    size_bytes: int
    lines: pa.StringArray  # one element per line, without its line ending
    pre_codes: dict[int, tuple[str, str]]  # 0-based line -> (code, reason) found while reading
    manifest_problem: str | None
    manifest_record_count: int | None


def _read_manifest(lf: LandingFile) -> tuple[dict[str, object] | None, str | None]:
    mp = lf.manifest_path
    if not mp.exists():
        return None, None
    try:
        manifest = json.loads(mp.read_bytes())
    except (OSError, ValueError) as exc:
        return None, f"manifest {mp.name} is not readable JSON ({exc})"
    if not isinstance(manifest, dict):
        return None, f"manifest {mp.name} is not a JSON object"
    count, sha = manifest.get("record_count"), manifest.get("sha256")
    if type(count) is not int or count < 0 or not isinstance(sha, str):
        return None, f"manifest {mp.name} needs an integer record_count and a sha256 string"
    return manifest, None


def split_lines(data: bytes) -> tuple[pa.StringArray, dict[int, tuple[str, str]]]:
    """Split on LF (trailing CRs belong to the line ending); strip a leading BOM.

    Lines are cut out of the file's bytes without a Python object per line. Lines that are
    not valid UTF-8 are reported by 0-based index, their text kept with bad bytes escaped.
    """
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data:
        return pa.array([], pa.string()), {}
    if not data.endswith(b"\n"):
        data += b"\n"
    bad: dict[int, tuple[str, str]] = {}
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data, bad = _escape_bad_lines(data)
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    offsets = np.concatenate(([0], ends + 1)).astype(np.int64)
    with_newline = pa.LargeStringArray.from_buffers(
        len(ends), pa.py_buffer(offsets), pa.py_buffer(data)
    )
    lines = pc.utf8_rtrim(pc.utf8_slice_codeunits(with_newline, 0, -1), characters="\r")
    return lines.cast(pa.string()), bad


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


def read_file(lf: LandingFile) -> FileContent:
    """Read a data file, check it against its manifest, and split it into lines.

    A manifest mismatch or an unreadable/corrupt file sets ``manifest_problem``: the file
    must then be rejected whole.
    """
    try:
        raw = lf.path.read_bytes()
    except OSError as exc:
        raise LandingPathError(lf.path, f"cannot read file ({exc.strerror or exc})") from exc
    sha = hashlib.sha256(raw).hexdigest()
    manifest, problem = _read_manifest(lf)
    data = raw
    if lf.compressed and problem is None:
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            problem = f"not a readable gzip file ({exc})"
            data = b""
    lines, bad = split_lines(data) if problem is None else (pa.array([], pa.string()), {})
    count = None
    if manifest is not None:
        count = int(manifest["record_count"])  # type: ignore[call-overload]
        if problem is None and manifest["sha256"] != sha:
            problem = "manifest sha256 does not match the file (truncated or corrupt delivery)"
        elif problem is None and count != len(lines):
            problem = f"manifest record_count {count} but the file has {len(lines)} lines"
    return FileContent(sha, len(raw), lines, bad, problem, count)
