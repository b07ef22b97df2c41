"""Landing throughput from a bucket against the same files on local disk.

Usage: .venv/bin/python benchmarks/bench_object_landing.py [--events 1000000]
           [--workdir DIR] [--landing ZONE] [--runs 2]

The zone (generated, messy profile, or ``--landing``) is uploaded to moto's S3 server on
a loopback port (``moto[server]``, a dev dependency), then landed into fresh DuckDB files
from the folder and from ``s3://``, alternately, ``--runs`` times each. Generation and the
upload are not timed; each landing is timed end to end (list, read, validate, write,
commit). moto is an in-process Python server: the S3 figure bounds what a loopback
endpoint gives, not what S3 itself would (a real bucket adds network latency per object).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from onceonly.generate.writer import generate
from onceonly.landing import land
from onceonly.object_store import ObjectZone
from onceonly.streams import example
from onceonly.targets.duckdb import DuckDBTarget

BUCKET = "onceonly-bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _moto(port: int, log: Path) -> subprocess.Popen[bytes]:
    server = Path(sys.executable).with_name("moto_server")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    raise RuntimeError(f"moto_server did not start; see {log}")


def _upload(zone: Path) -> tuple[int, int]:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    files = size = 0
    for path in sorted((zone / "orders").rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, path.relative_to(zone).as_posix())
            files, size = files + 1, size + path.stat().st_size
    return files, size


def _land(where: Path | ObjectZone, db: Path) -> dict[str, object]:
    db.unlink(missing_ok=True)
    target = DuckDBTarget(db)
    t0 = time.perf_counter()
    summary = land(where, target, example("orders"))
    seconds = time.perf_counter() - t0
    target.close()
    return {
        "seconds": round(seconds, 2),
        "files": len(summary.files),
        "rows_landed": summary.total("landed"),
        "lines_quarantined": summary.total("quarantined"),
        "valid_lines_per_second": round(summary.total("landed") / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--landing", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    zone = args.landing or work / "landing"
    if args.landing is None and not (zone / "orders").is_dir():
        generate(zone, n_events=args.events, days=3, seed=1, profile="messy")
    port = _free_port()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    server = _moto(port, work / "moto.log")
    try:
        t0 = time.perf_counter()
        files, size = _upload(zone)
        upload_s = round(time.perf_counter() - t0, 2)
        bucket = ObjectZone.parse(f"s3://{BUCKET}/")
        runs: dict[str, list[dict[str, object]]] = {"local": [], "s3": []}
        for _ in range(args.runs):
            runs["local"].append(_land(zone, work / "local.duckdb"))
            runs["s3"].append(_land(bucket, work / "s3.duckdb"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "landing": str(zone),
        "objects": files,
        "bytes": size,
        "upload_seconds": upload_s,
        "runs": runs,
        "machine": f"{platform.machine()}, {platform.python_version()}, {os.cpu_count()} cores",
    }
    print(json.dumps(result, indent=2))
    if args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
