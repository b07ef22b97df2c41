"""Landing zones in object storage: ``s3://bucket/prefix`` and ``gs://bucket/prefix``.

The layout under the prefix is the local one (``<stream>/dt=YYYY-MM-DD/hour=HH/<name>``).
Credentials come from each cloud's own chain (boto3's: environment, shared files, instance
roles, ``AWS_ENDPOINT_URL`` for another endpoint; google-cloud-storage's: application
default credentials, ``STORAGE_EMULATOR_HOST`` for an emulator); onceonly holds none.

Every version of an object is a delivery. Where the bucket keeps versions (S3 versioning,
GCS object versioning) each version is listed and read pinned to its version, so an object
rewritten in place between two landings loses nothing; a version is named in the ledger
the way each cloud's own tools name it: ``<key>?versionId=<id>`` on S3 (a versioned bucket;
an unversioned one has no version to name) and ``<key>#<generation>`` on GCS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from onceonly.errors import ConfigError, LandingPathError

SCHEMES = ("s3", "gs")
_URI = re.compile(r"^(s3|gs)://([a-z0-9][a-z0-9._-]{1,221}[a-z0-9])(?:/(.*))?$")


@dataclass(frozen=True)
class ObjectZone:
    """A landing zone at ``<scheme>://<bucket>/<prefix>``."""

    scheme: str
    bucket: str
    prefix: str = ""  # '' or ending in '/'

    @classmethod
    def parse(cls, uri: str) -> ObjectZone:
        m = _URI.match(uri)
        if m is None:
            raise ConfigError(
                f"landing {uri!r}: not a bucket URI (s3://bucket/prefix or gs://bucket/prefix, "
                "the bucket named in lower case)"
            )
        prefix = (m.group(3) or "").strip("/")
        return cls(m.group(1), m.group(2), f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.prefix}"

    def bucket_client(self) -> Bucket:
        return _S3(self) if self.scheme == "s3" else _GCS(self)

    def holds(self, prefix: str) -> bool:
        """Some object lies under the zone's prefix + ``prefix`` (a bucket that cannot be
        listed: one line saying why)."""
        return next(iter(self.bucket_client().versions(prefix)), None) is not None

    def check(self) -> None:
        self.holds("")


def is_uri(value: str) -> bool:
    return value.split("://", 1)[0] in SCHEMES and "://" in value


@dataclass(frozen=True)
class StoredObject:
    """One version of one object: ``name`` relative to the zone's prefix."""

    name: str
    size: int
    version: str | None  # S3 VersionId (None: an unversioned bucket), GCS generation
    scheme: str = field(default="s3", compare=False)
    written: float = 0.0  # when this version was written (POSIX seconds): landing order
    latest: bool = True  # the object's current version (older ones are kept by versioning)
    #: among versions written in the same second: 0 the newest, -1 the one before, ...
    rank: int = 0

    @property
    def source_file(self) -> str:
        """The delivery's name in the ledger: the key with its version, as the cloud's
        tools write it."""
        if self.version is None:
            return self.name
        return (
            f"{self.name}#{self.version}"
            if self.scheme == "gs"
            else (f"{self.name}?versionId={self.version}")
        )


_VERSION = re.compile(r"(\?versionId=[^/]*|#\d+)$")


def unversioned(source_file: str) -> str:
    """A delivery's name without the object version it may carry (StoredObject.source_file):
    the path, as a local landing zone would name the same file."""
    return _VERSION.sub("", source_file)


class Bucket(Protocol):
    def versions(self, prefix: str) -> Iterator[StoredObject]:
        """Every version of every object under the zone's prefix + ``prefix``."""
        ...

    def read(self, obj: StoredObject, limit: int) -> bytes:
        """The object's bytes (at most ``limit`` + 1 of them), of exactly its version."""
        ...

    def folders(self) -> list[str]:
        """The names of the "folders" right under the zone's prefix (its stream prefixes)."""
        ...


def hours(start: datetime, end: datetime) -> list[datetime]:
    """The arrival hours in [start, end): a landing run lists their prefixes, never the
    whole bucket."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < end:
        out.append(hour)
        hour += timedelta(hours=1)
    return out


def _unreachable(zone: ObjectZone, exc: BaseException, what: str) -> LandingPathError:
    """One line naming the zone; transient (a scheduler retries the task): a bucket that
    cannot be listed or read now may be readable on the next try."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    error = LandingPathError(str(zone), f"cannot {what} ({first})")
    error.transient = True
    return error


class _S3:
    def __init__(self, zone: ObjectZone) -> None:
        import boto3
        from botocore.exceptions import BotoCoreError

        self.zone = zone
        try:
            self.client: Any = boto3.client("s3")
        except BotoCoreError as exc:
            raise _unreachable(zone, exc, "reach S3") from None

    def versions(self, prefix: str) -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.zone.bucket, Prefix=self.zone.prefix + prefix
            )
            key, rank = None, 0
            for page in pages:
                for v in page.get("Versions", []):  # a key's versions newest first
                    rank = rank - 1 if v["Key"] == key else 0
                    key, version = v["Key"], v.get("VersionId")
                    yield StoredObject(
                        key.removeprefix(self.zone.prefix),
                        int(v["Size"]),
                        None if version in (None, "null") else str(version),
                        "s3",
                        v["LastModified"].timestamp(),  # (to the second)
                        bool(v.get("IsLatest", True)),
                        rank,
                    )
        except (BotoCoreError, ClientError) as exc:
            raise _unreachable(self.zone, exc, "list the bucket") from None

    def folders(self) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.zone.bucket, Prefix=self.zone.prefix, Delimiter="/"
            )
            return [
                p["Prefix"].removeprefix(self.zone.prefix).rstrip("/")
                for page in pages
                for p in page.get("CommonPrefixes", [])
            ]
        except (BotoCoreError, ClientError) as exc:
            raise _unreachable(self.zone, exc, "list the bucket") from None

    def read(self, obj: StoredObject, limit: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        pinned = {"VersionId": obj.version} if obj.version else {}
        try:
            body = self.client.get_object(
                Bucket=self.zone.bucket,
                Key=self.zone.prefix + obj.name,
                Range=f"bytes=0-{limit}",
                **pinned,
            )["Body"]
            try:
                return bytes(body.read(limit + 1))
            finally:
                body.close()
        except (BotoCoreError, ClientError) as exc:
            raise _unreachable(self.zone, exc, f"read {obj.source_file}") from None


def _gcs_errors() -> tuple[type[BaseException], ...]:
    """What google-cloud-storage raises for a bucket it cannot use (the API's refusals, no
    credentials, no connection)."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError
    from requests import RequestException

    return GoogleAPIError, GoogleAuthError, RequestException


class _GCS:
    def __init__(self, zone: ObjectZone) -> None:
        from google.cloud import storage

        self.zone = zone
        try:
            self.client = storage.Client()
        except _gcs_errors() as exc:
            raise _unreachable(zone, exc, "reach GCS") from None

    def versions(self, prefix: str) -> Iterator[StoredObject]:
        try:
            for blob in self.client.list_blobs(
                self.zone.bucket, prefix=self.zone.prefix + prefix, versions=True
            ):
                yield StoredObject(
                    blob.name.removeprefix(self.zone.prefix),
                    int(blob.size or 0),
                    str(blob.generation),
                    "gs",
                    (blob.time_created or blob.updated).timestamp(),
                    blob.time_deleted is None,
                )
        except _gcs_errors() as exc:
            raise _unreachable(self.zone, exc, "list the bucket") from None

    def folders(self) -> list[str]:
        try:
            listing = self.client.list_blobs(
                self.zone.bucket, prefix=self.zone.prefix, delimiter="/"
            )
            for _ in listing.pages:
                pass  # the prefixes are gathered page by page
            return [p.removeprefix(self.zone.prefix).rstrip("/") for p in listing.prefixes]
        except _gcs_errors() as exc:
            raise _unreachable(self.zone, exc, "list the bucket") from None

    def read(self, obj: StoredObject, limit: int) -> bytes:
        blob = self.client.bucket(self.zone.bucket).blob(
            self.zone.prefix + obj.name, generation=int(obj.version) if obj.version else None
        )
        try:
            return bytes(blob.download_as_bytes(start=0, end=limit))
        except _gcs_errors() as exc:
            raise _unreachable(self.zone, exc, f"read {obj.source_file}") from None
