"""What a replica needs to know, typed and frozen, built once from the ``EndpointSpec``.

``serve.deploy.plan`` resolves the spec (key digests, tracking URI, capture path) into a
``ReplicaSettings`` and hands the object to the replica. A Serve config file carries it as the
plain mapping ``model_dump`` gives; ``serve.app:build`` parses that back here, rejecting unknown
or missing keys. No field has a default: every default is the ``EndpointSpec``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from serve.config import AsyncInferenceSpec, BatchingSpec, CaptureSpec, EndpointSpec, FaultSpec
from serve.multi_model.spec import ModelSetSpec


class ReplicaSettings(BaseModel):
    """Resolved endpoint settings: digests (never keys), URIs and paths, limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str
    key_digests: tuple[str, ...]
    admin_key_digests: tuple[str, ...]
    max_body_bytes: int = Field(ge=256)
    # Defaulted (to the EndpointSpec's default) so Serve config files written before explain
    # routes existed still parse.
    max_explain_rows: int = Field(EndpointSpec.model_fields["max_explain_rows"].default, ge=1)
    tracking_uri: str
    capture: CaptureSpec
    batching: BatchingSpec
    registry_check_interval_s: float = Field(ge=1)
    async_inference: AsyncInferenceSpec
    # Batch jobs started over HTTP: records and default run folders go to ``storage``; their
    # relative paths are taken under ``home``, never a replica's Ray working directory.
    storage: str
    home: str
    # Where the traffic table and the per-variant statistics live (read with variants only).
    traffic_store_url: str | None = None
    fault: FaultSpec | None = None  # a variant's injected faults (drills)
    # {name: absolute pipeline YAML} that POST /admin/pipelines/{name}:run may start.
    pipelines: dict[str, str] = Field(default_factory=dict)
    # {sha256 of a scoped inference key: the model patterns it may call} (auth.scoped_key_envs);
    # those digests are in key_digests too. Defaulted: older Serve config files have none.
    key_scopes: dict[str, list[str]] = Field(default_factory=dict)
    # A multi-model endpoint's set and budget (serve.multi_model); None: it pins a list.
    model_set: ModelSetSpec | None = None

    @classmethod
    def from_spec(
        cls, spec: EndpointSpec, *, tracking_uri: str, home: Path, storage: str | None = None
    ) -> ReplicaSettings:
        """Read the key variables and resolve paths; ``home`` holds the default capture path,
        the async store and, unless ``storage`` is given, the run storage (``home/runs``)."""
        home = home.resolve()
        path = spec.capture.path or home / "capture"
        if "://" not in str(path):  # s3://… stays a URI (Path would make it <cwd>/s3:/…)
            path = Path(path).resolve()
        if storage is None or "://" not in storage:
            storage = str((home / (storage or "runs")).resolve())
        return cls(
            endpoint=spec.name,
            key_digests=tuple(spec.auth.key_digests()),
            admin_key_digests=tuple(spec.auth.admin_key_digests()),
            max_body_bytes=spec.max_body_bytes,
            max_explain_rows=spec.max_explain_rows,
            tracking_uri=tracking_uri,
            capture=spec.capture.model_copy(update={"path": str(path)}),
            batching=spec.batching,
            registry_check_interval_s=spec.registry_check_interval_s,
            async_inference=_resolve_async(spec, home),
            storage=storage,
            home=str(home),
            traffic_store_url=_traffic_store(spec, home),
            pipelines=spec.pipeline_files(),
            key_scopes={d: list(s) for d, s in spec.auth.scoped_key_digests().items()},
            model_set=spec.model_set,
        )

    @classmethod
    def parse(cls, data: ReplicaSettings | dict[str, Any]) -> ReplicaSettings:
        """The settings a Serve config file's ``args.settings`` holds (unknown keys refused)."""
        from ray_apps.spec import parse_spec

        if isinstance(data, ReplicaSettings):
            return data
        return parse_spec(cls, data, source="args.settings of the Serve config")

    def to_args(self) -> dict[str, Any]:
        """The plain mapping a Serve config file carries (YAML-safe: lists, not tuples)."""
        return self.model_dump(mode="json")


def _traffic_store(spec: EndpointSpec, home: Path) -> str:
    # Every endpoint knows its store: a rollout turns one version into variants with a change
    # of user_config only (replicas reconfigure, none restarts). Replicas without variants
    # never open it.
    from serve.traffic.store import default_url

    return spec.traffic_store_url or default_url(str(home))


def _resolve_async(spec: EndpointSpec, home: Path) -> AsyncInferenceSpec:
    """Default store and files under ``home/async/<endpoint>``; the callback key checked now."""
    a = spec.async_inference
    folder = (home / "async" / spec.name).resolve()
    if a.enabled:
        a.callback_secret()  # a missing key fails the deploy, not the first callback
    return a.model_copy(
        update={
            "store_url": a.store_url or f"sqlite:///{folder / 'requests.db'}",
            "storage_path": str(Path(a.storage_path or folder / "files").resolve()),
        }
    )
