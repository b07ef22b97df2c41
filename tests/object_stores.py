"""Object-storage servers for the tests, on free loopback ports, from the locked dev
environment: moto's S3 server (`moto[server]`) and gcp-storage-emulator (GCS's JSON API).

Each test gets its own bucket; the clients reach the servers through the variables their
own libraries read (AWS_ENDPOINT_URL for boto3, STORAGE_EMULATOR_HOST for
google-cloud-storage), as a deployment would point them elsewhere.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from postgres_server import _free_port, wait_listening

BIN = Path(sys.executable).parent


def bucket_name(test: str) -> str:
    """A valid bucket name, distinct per test."""
    return "t-" + hashlib.sha1(test.encode()).hexdigest()[:16]


class ObjectServer:
    scheme: str

    def __init__(self) -> None:
        self.port = _free_port()
        self.log = Path(tempfile.mkstemp(prefix=f"onceonly-{self.scheme}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def start(self) -> ObjectServer:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        wait_listening(self.process, self.port, self.command()[0], self.log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def create_bucket(self, name: str, versioned: bool = False) -> None:
        raise NotImplementedError

    def put(self, bucket: str, key: str, body: bytes) -> None:
        raise NotImplementedError

    def upload(self, bucket: str, prefix: str, folder: Path) -> int:
        """Every file under ``folder`` (but the generator's _truth/) as an object under
        ``prefix``; the number uploaded."""
        count = 0
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() and not rel.startswith("_truth/"):
                self.put(bucket, prefix + rel, path.read_bytes())
                count += 1
        return count


class S3Server(ObjectServer):
    scheme = "s3"

    def command(self) -> list[str]:
        return [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def _client(self):  # type: ignore[no-untyped-def]
        import boto3

        e = self.env()
        return boto3.client(
            "s3",
            endpoint_url=e["AWS_ENDPOINT_URL"],
            aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"],
            region_name=e["AWS_DEFAULT_REGION"],
        )

    def create_bucket(self, name: str, versioned: bool = False) -> None:
        client = self._client()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self._client().put_object(Bucket=bucket, Key=key, Body=body)


class GCSServer(ObjectServer):
    scheme = "gs"

    def command(self) -> list[str]:
        return [
            str(BIN / "gcp-storage-emulator"),
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--in-memory",
        ]

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.endpoint, "GOOGLE_CLOUD_PROJECT": "test"}

    def _client(self):  # type: ignore[no-untyped-def]
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="test",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def create_bucket(self, name: str, versioned: bool = False) -> None:
        assert not versioned, "gcp-storage-emulator keeps one generation of an object"
        self._client().create_bucket(name)

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self._client().bucket(bucket).blob(key).upload_from_string(body)


#: The ``new_bucket`` fixture: make(scheme, prefix, versioned) -> (server, name, zone).
NewBucket = Callable[..., tuple[ObjectServer, str, Any]]
