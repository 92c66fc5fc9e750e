"""The model registry: model groups and versions on MLflow's registry, with approval.

    from ray_apps.registry import register, approve, list_versions, get_version

    v = register(result.artifact_path, "cancer")      # → version 1, status Pending
    approve("cancer", v.version, by="alice", reason="beats baseline")

A version records its artifact location, the sha256 of the artifact's MANIFEST.json, metrics,
params (the job spec), lineage and the MLflow run that trained it. The store is the tracking
store (``MLFLOW_TRACKING_URI`` or the embedded SQLite), so ``mlflow ui`` shows the same models.
Approval status and its history are model-version tags that ``approval.py`` decides.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray_apps import tracking
from ray_apps._natural import natural
from ray_apps.artifact import MANIFEST, is_remote, local_copy, local_folder, verify_artifact
from ray_apps.errors import ApprovalError, ArtifactIntegrityError, NotFoundError, SpecError
from ray_apps.registry import _copies
from ray_apps.registry import served_by as _served_by
from ray_apps.registry.approval import Decision, deployable, history_append, transition

_TAG = "raymaker."
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model and its approval state."""

    name: str
    version: int
    status: str
    artifact_uri: str
    manifest_sha256: str
    run_id: str = ""
    created_at: int = 0  # ms since epoch, MLflow's clock
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, str]] = field(default_factory=list)
    served_by: list[str] = field(default_factory=list)  # endpoints serve.deploy recorded

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name"`` → (name, None) meaning the newest approved; ``"name:3"`` → (name, 3)."""
    name, _, version = ref.partition(":")
    if not _NAME.match(name):
        raise SpecError(
            f"model name {name!r} is invalid; use letters, digits, '_', '.', '-' (up to 64)"
        )
    if not version or version == "latest":
        return name, None
    number = natural(version)
    if number is None or number < 1:
        raise SpecError(f"model version {version!r} in {ref!r} must be a positive integer")
    return name, number


def register(
    artifact_path: str | Path,
    name: str,
    *,
    description: str = "",
    lineage: dict[str, Any] | None = None,
    tracking_uri: str | None = None,
) -> ModelVersion:
    """Register an artifact folder as the next version of ``name`` (status Pending).

    ``lineage``: added to the artifact's own (e.g. the pipeline run and step that made it)."""
    name, _ = parse_ref(name)
    artifact_uri = str(artifact_path)
    with local_copy(artifact_uri) as local:  # read only here: a fetched copy goes after
        verify_artifact(local)
        digest = _manifest_digest(local)
        meta = {
            "metrics": _read_json(local / "metrics.json"),
            "params": _read_json(local / "job.json"),
            "lineage": {**_read_json(local / "lineage.json"), **(lineage or {})},
        }
    run_id = meta["lineage"].get("mlflow_run_id") or None
    uri = tracking.resolve_uri(tracking_uri)
    client = _client(uri)
    tags = {
        f"{_TAG}artifact_uri": artifact_uri,
        f"{_TAG}manifest_sha256": digest,
        f"{_TAG}approval.status": "Pending",
        f"{_TAG}approval.history": "[]",
        **{f"{_TAG}{k}": json.dumps(v, sort_keys=True)[:5000] for k, v in meta.items()},
    }
    with _store_lock(uri):
        _ensure_model(client, name)
        mv = client.create_model_version(
            name,
            source=artifact_uri,
            run_id=_existing_run(client, run_id),
            tags=tags,
            description=description or None,
        )
    return _to_version(mv)


def list_models(*, tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Every model group: name, number of versions, newest version and newest approved."""
    return [model_summary(n, vs) for n, vs in all_versions(tracking_uri=tracking_uri).items()]


def all_versions(*, tracking_uri: str | None = None) -> dict[str, list[ModelVersion]]:
    """Every registered model's versions (oldest first; a model without any: []), by name,
    in two queries whatever the number of models (one per model took 1.3 s for 50)."""
    client = _client(tracking.resolve_uri(tracking_uri))
    out: dict[str, list[ModelVersion]] = {}
    token = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        out.update((rm.name, []) for rm in page)
        token = page.token
        if not token:
            break
    while True:
        page = client.search_model_versions(max_results=10000, page_token=token)
        for mv in page:
            out.setdefault(mv.name, []).append(_to_version(mv))
        token = page.token
        if not token:
            break
    return {n: sorted(vs, key=lambda v: v.version) for n, vs in sorted(out.items())}


def model_summary(name: str, versions: list[ModelVersion]) -> dict[str, Any]:
    """What ``list_models`` says of one model, from its versions."""
    approved = [v.version for v in versions if v.status == "Approved"]
    return {
        "name": name,
        "versions": len(versions),
        "latest": max((v.version for v in versions), default=None),
        "latest_approved": max(approved, default=None),
    }


def list_versions(name: str, *, tracking_uri: str | None = None) -> list[ModelVersion]:
    """The versions of ``name``, oldest first."""
    client = _client(tracking.resolve_uri(tracking_uri))
    _require_model(client, name)
    return _versions(client, name)


def get_version(
    name: str, version: int | None = None, *, tracking_uri: str | None = None
) -> ModelVersion:
    """One version; ``version=None`` means the newest Approved one."""
    client = _client(tracking.resolve_uri(tracking_uri))
    if version is None:
        approved = [
            v for v in list_versions(name, tracking_uri=tracking_uri) if v.status == "Approved"
        ]
        if not approved:
            raise ApprovalError(
                f"model {name!r} has no Approved version; approve one "
                f"(raymaker registry approve {name}:<version>) or name a version and force it"
            )
        return approved[-1]
    from mlflow.exceptions import MlflowException

    _require_model(client, name)
    try:
        return _to_version(client.get_model_version(name, str(version)))
    except MlflowException:
        known = [v.version for v in _versions(client, name)]
        raise NotFoundError(
            f"model {name!r} has no version {version}; its versions are {known}"
        ) from None


def approve(
    name: str, version: int, *, by: str, reason: str = "", tracking_uri: str | None = None
) -> ModelVersion:
    """Move a version to Approved, recording who, when and why."""
    return _decide(name, version, "approve", by, reason, tracking_uri)


def reject(
    name: str, version: int, *, by: str, reason: str = "", tracking_uri: str | None = None
) -> ModelVersion:
    """Move a version to Rejected (or revoke an approval), recording who, when and why."""
    return _decide(name, version, "reject", by, reason, tracking_uri)


def resolve_for_deploy(
    ref: str, *, force: bool = False, tracking_uri: str | None = None
) -> ModelVersion:
    """The version ``ref`` ("name" or "name:3") names, refusing non-Approved unless forced."""
    name, version = parse_ref(ref)
    mv = get_version(name, version, tracking_uri=tracking_uri)
    if not deployable(mv.status, force=force):
        raise ApprovalError(
            f"{mv.ref} is {mv.status}; only Approved versions deploy: approve it "
            f"(raymaker registry approve {mv.ref}) or deploy with --force"
        )
    return mv


def fetch_artifact(mv: ModelVersion) -> Path:
    """A local, verified copy of the version's artifact; its manifest must be the registered one.

    A remote artifact is copied once per process and kept until it exits (``_copies``)."""
    remote = is_remote(mv.artifact_uri)
    local = (
        _copies.copy_of(mv.artifact_uri, mv.manifest_sha256)
        if remote
        else local_folder(mv.artifact_uri)
    )
    try:
        _check_registered(mv, local)
    except Exception:
        if remote:
            _copies.discard(mv.manifest_sha256)
        raise
    return local


def _check_registered(mv: ModelVersion, local: Path) -> None:
    verify_artifact(local)
    if _manifest_digest(local) != mv.manifest_sha256:
        raise ArtifactIntegrityError(
            f"{mv.ref}: the artifact at {mv.artifact_uri} is not the one registered (its "
            "MANIFEST.json digest changed); register the new artifact as a new version"
        )


def load_version(ref: str, *, artifact: str | None = None, tracking_uri: str | None = None):
    """The model a job names by ``name:version`` (latest when no version), loaded from its
    verified registry artifact; or from ``artifact`` (a folder the caller vouches for), taken
    to be the version ``ref`` names. Returns ``(Model, version)``."""
    from ray_apps.artifact import load_model

    name, version = parse_ref(ref)
    if artifact is not None:
        return load_model(artifact), str(version)
    mv = get_version(name, version, tracking_uri=tracking_uri)
    return load_model(fetch_artifact(mv)), str(mv.version)


def _decide(name, version, action, by, reason, tracking_uri) -> ModelVersion:
    uri = tracking.resolve_uri(tracking_uri)
    client = _client(uri)
    with _store_lock(uri):
        mv = get_version(name, version, tracking_uri=uri)
        decision: Decision = transition(mv.status, action, by=by, reason=reason)
        tags = client.get_model_version(name, str(version)).tags
        history = history_append(tags.get(f"{_TAG}approval.history"), decision)
        # The status last: a reader that does not take the lock (a pipeline waiting for a
        # person, a replica's approval watch) and sees the new status sees who, when and why.
        for key, value in {
            "history": history,
            "by": decision.by,
            "at": decision.at,
            "reason": decision.reason,
            "status": decision.status,
        }.items():
            client.set_model_version_tag(name, str(version), f"{_TAG}approval.{key}", value)
    return get_version(name, version, tracking_uri=uri)


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Serialise writers of one SQLite store across threads and processes.

    MLflow numbers versions inside a database transaction; a server store does that itself,
    while SQLite writers from several processes can race. A file lock beside the database
    makes concurrent registrations give distinct consecutive numbers.
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    lock_path = Path(uri.removeprefix("sqlite:///")).with_suffix(".registry.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _ensure_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
        return
    except MlflowException:
        pass
    try:
        client.create_registered_model(name, tags={f"{_TAG}managed": "true"})
    except MlflowException as err:
        # Another process created it between our read and our write (seen on PostgreSQL with
        # four concurrent first registrations of one name): the name exists, as wanted.
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def _require_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        known = [m.name for m in client.search_registered_models(max_results=1000)]
        raise NotFoundError(
            f"no registered model {name!r}; registered models are {sorted(known)}; "
            "register one with: raymaker registry register <artifact> --name <name>"
        ) from None


def _existing_run(client, run_id: str | None) -> str | None:
    if not run_id:
        return None
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(run_id)
        return run_id
    except MlflowException:  # trained against another store: keep the id in lineage only
        return None


def _versions(client, name: str) -> list[ModelVersion]:
    found = client.search_model_versions(f"name = '{name}'", max_results=10000)
    return sorted((_to_version(mv) for mv in found), key=lambda v: v.version)


def _to_version(mv) -> ModelVersion:
    tags = mv.tags or {}

    def tag_json(key: str, default: Any) -> Any:
        try:
            return json.loads(tags.get(f"{_TAG}{key}", ""))
        except ValueError:
            return default

    return ModelVersion(
        name=mv.name,
        version=int(mv.version),
        status=tags.get(f"{_TAG}approval.status", "Pending"),
        artifact_uri=tags.get(f"{_TAG}artifact_uri", mv.source),
        manifest_sha256=tags.get(f"{_TAG}manifest_sha256", ""),
        run_id=mv.run_id or "",
        created_at=int(mv.creation_timestamp or 0),
        metrics=tag_json("metrics", {}),
        params=tag_json("params", {}),
        lineage=tag_json("lineage", {}),
        history=tag_json("approval.history", []),
        served_by=_served_by.parse(tags.get(_served_by.TAG)),
    )


def _manifest_digest(local: Path) -> str:
    return hashlib.sha256((local / MANIFEST).read_bytes()).hexdigest()


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else {}
