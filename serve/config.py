"""The endpoint spec: which registered models an endpoint serves, and how.

    name: cancer                     # the Ray Serve application name
    route_prefix: /                  # V1 / V2 routes live under it
    models:
      - name: cancer                 # a registered model
        version: 3                   # default: its newest Approved version
        force: false                 # deploy a non-Approved version (explicit, logged)
    # models: {prefix: store-, max_models: 10}   # or a model SET: many models on shared
    #                                # replicas, loaded on first call, evicted LRU within a
    #                                # budget (serve.multi_model.spec; no variants/shadow/async)
    autoscaling: {min_replicas: 1, max_replicas: 4, target_ongoing_requests: 2}
    batching: {max_batch_size: 1}    # > 1 turns on dynamic batching (adds up to the wait)
    auth:                            # env var NAMES; each holds comma-separated keys
      api_key_envs: [RAYMAKER_API_KEYS]       # inference keys: predict, infer, metadata, reads
      admin_key_envs: [RAYMAKER_ADMIN_KEYS]   # admin keys: approve/reject over HTTP (else off)
      scoped_key_envs: {STORE_12_KEYS: [store-12, "store-1*"]}   # inference keys for these
                                     # models only: 403 on any other (serve.multi_model.scopes)
    capture: {percent: 10}           # share of requests written as Parquet for monitoring
    max_body_bytes: 1048576          # larger bodies get 413
    max_explain_rows: 100            # rows per :explain / /explain request (SHAP is costly)
    num_cpus: 0.5                    # CPU slots per replica
    resources: {rmk_worker: 1}       # custom Ray resources per replica (place on such nodes)
    max_replicas_per_node: 1         # spread replicas across nodes, for availability
    registry_check_interval_s: 30    # replicas re-read their versions' approval status
    variants:                        # versions of ONE model side by side (replaces models:)
      - {name: prod, model: "fair:4", weight: 90}      # the first runs in the endpoint's replicas
      - {name: cand, model: "fair:5", weight: 10,      # each other gets replicas of its own
         autoscaling: {max_replicas: 1}, num_cpus: 0.25}
    shadow: {variant: cand, percent: 100}   # mirror requests to a variant that never answers
    traffic_store_url: sqlite:///…   # weights and rollouts (default: $RAYMAKER_HOME/traffic.db)
    async_inference:                 # :predict-async / /infer-async, a durable queue
      max_body_bytes: 67108864       # far above the real-time limit
      max_queued: 1000               # queued + running; more gets 429 with Retry-After
      ttl_s: 86400                   # finished requests (and result files) kept this long
      queued_ttl_s: 86400            # still queued this long after submit: expired, unanswered
      callback_secret_env: RAYMAKER_CALLBACK_SECRET   # HMAC key of completion callbacks
      consumers: {max_replicas: 1, idle_s: 60}        # scale to zero when idle
    pipelines: {retrain: pipeline.yaml}   # POST /admin/pipelines/retrain:run starts it (admin)

Unknown keys are rejected; ``load_endpoint_spec`` reads YAML, ``parse_spec`` takes a dict.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from ray_apps.errors import SpecError
from ray_apps.spec import load_yaml, parse_spec
from serve.multi_model.scopes import Scope, parse_scope
from serve.multi_model.spec import ModelSetSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRef(_Strict):
    """One registered model served by the endpoint."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    version: int | None = Field(None, ge=1, description="default: the newest Approved version")
    force: bool = Field(False, description="serve a version that is not Approved")


_MODEL_LIST = TypeAdapter(Annotated[list[ModelRef], Field(min_length=1)])

# Ray Serve 2.60's AutoscalingConfig.metrics_interval_s default: replicas and handles push
# their load to the controller this often. The spec does not expose it (Ray deprecates the
# field), so look_back_period_s is checked against it; a unit test pins it to Ray's value.
RAY_METRICS_INTERVAL_S = 10.0


def _look_back_above_metrics_interval(value: float) -> float:
    # Ray accepts a window at or below the push interval with a FutureWarning ("will raise an
    # exception in a future release"): the window may hold no report at all. Refuse it now.
    if value <= RAY_METRICS_INTERVAL_S:
        raise ValueError(
            f"look_back_period_s {value:g} must be above Ray Serve's metrics_interval_s "
            f"{RAY_METRICS_INTERVAL_S:g} (its default: how often replicas report their load), "
            "or the averaging window may hold no report (Ray will refuse it in a future "
            f"release); set look_back_period_s above {RAY_METRICS_INTERVAL_S:g} (default 12)"
        )
    return value


class AutoscalingSpec(_Strict):
    """Ray Serve's request-based autoscaler; ``min_replicas: 0`` scales to zero."""

    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    initial_replicas: int | None = Field(None, ge=0)
    target_ongoing_requests: float = Field(2.0, gt=0)
    upscale_delay_s: float = Field(3.0, ge=0)
    downscale_delay_s: float = Field(60.0, ge=0)
    downscale_to_zero_delay_s: float | None = Field(None, ge=0)
    look_back_period_s: float = Field(
        12.0, gt=0, description="Serve's load averaging window; above its metrics_interval_s"
    )

    _look_back = field_validator("look_back_period_s")(_look_back_above_metrics_interval)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSpec:
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"autoscaling.max_replicas {self.max_replicas} is below min_replicas "
                f"{self.min_replicas}; raise max_replicas or lower min_replicas"
            )
        return self

    def to_serve(self) -> dict[str, Any]:
        """Ray Serve's ``autoscaling_config`` as it spells it."""
        return self.model_dump(exclude_none=True)


class BatchingSpec(_Strict):
    """Dynamic batching with ``ray.serve.batch``: off at ``max_batch_size: 1``."""

    max_batch_size: int = Field(1, ge=1, le=4096)
    batch_wait_timeout_s: float = Field(0.002, ge=0, le=1)


class AuthSpec(_Strict):
    """API keys from environment variables (names here, never the secrets).

    ``api_key_envs`` hold inference keys; ``admin_key_envs`` hold admin credentials, the only
    keys that may change the registry over HTTP. No admin keys: the admin routes are off.
    ``scoped_key_envs`` ({variable: model patterns}) hold inference keys that may call only
    the models their patterns match (``store-12``, ``store-1*``): 403 on any other model.
    """

    api_key_envs: list[str] = Field(default_factory=list)
    admin_key_envs: list[str] = Field(default_factory=list)
    scoped_key_envs: dict[str, list[str]] = Field(
        default_factory=dict, description="{env var: model names or prefix globs}"
    )

    @field_validator("scoped_key_envs")
    @classmethod
    def _scopes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {var: list(parse_scope(p, f"scoped_key_envs.{var}")) for var, p in value.items()}

    @model_validator(mode="after")
    def _distinct(self) -> AuthSpec:
        shared = sorted(set(self.api_key_envs) & set(self.admin_key_envs))
        if shared:
            raise ValueError(
                f"auth names {shared} in both api_key_envs and admin_key_envs; an admin "
                "credential must differ from inference keys: use a separate variable for each"
            )
        scoped = sorted(set(self.scoped_key_envs) & {*self.api_key_envs, *self.admin_key_envs})
        if scoped:
            raise ValueError(
                f"auth names {scoped} in scoped_key_envs and in api_key_envs or admin_key_envs; "
                "a key is either limited to some models or not: use a separate variable for each"
            )
        return self

    def key_digests(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """sha256 of every inference key the named variables hold, scoped keys included;
        what replicas compare."""
        scoped = self.scoped_key_digests(environ)
        return sorted({*_digests("api_key_envs", self.api_key_envs, environ), *scoped})

    def scoped_key_digests(self, environ: Mapping[str, str] | None = None) -> dict[str, Scope]:
        """{sha256 of a scoped key: the models it may call}; a key in two scoped variables may
        call what either allows. Refused if a scoped key is also an unscoped one."""
        scopes: dict[str, Scope] = {}
        for var, patterns in sorted(self.scoped_key_envs.items()):
            for digest in _digests("scoped_key_envs", [var], environ):
                scopes[digest] = tuple(dict.fromkeys([*scopes.get(digest, ()), *patterns]))
        if set(scopes) & set(_digests("api_key_envs", self.api_key_envs, environ)):
            raise SpecError(
                "a key in auth.scoped_key_envs is also in auth.api_key_envs, so whether it may "
                "call every model or only some is ambiguous; remove it from one of the variables"
            )
        return scopes

    def admin_key_digests(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """sha256 of every admin key; refused if one is also an inference key."""
        admin = _digests("admin_key_envs", self.admin_key_envs, environ)
        if set(admin) & set(self.key_digests(environ)):
            raise SpecError(
                "a key in auth.admin_key_envs is also in auth.api_key_envs or "
                "auth.scoped_key_envs; an admin credential must differ from every inference "
                "key: generate a new one for the admin variable"
            )
        return admin


def _digests(field: str, names: list[str], environ: Mapping[str, str] | None) -> list[str]:
    env = os.environ if environ is None else environ
    digests = []
    for var in names:
        if not env.get(var, "").strip():
            raise SpecError(
                f"auth.{field} names {var!r} but that environment variable is empty "
                f"or unset; export {var}=<key>[,<key>…] or remove it from {field}"
            )
        for key in env[var].split(","):
            if key.strip():
                digests.append(hashlib.sha256(key.strip().encode()).hexdigest())
    return sorted(set(digests))


class CaptureSpec(_Strict):
    """Sample ``percent`` of requests and responses into Parquet under ``path``."""

    percent: float = Field(0.0, ge=0, le=100)
    path: str | None = Field(None, description="default: $RAYMAKER_HOME/capture")
    flush_interval_s: float = Field(2.0, gt=0)
    flush_rows: int = Field(5000, ge=1)


class AsyncConsumerSpec(_Strict):
    """The deployment that works through the async queue: zero replicas while it is empty."""

    max_replicas: int = Field(1, ge=1)
    concurrency: int = Field(1, ge=1, description="requests one replica works on at once")
    idle_s: float = Field(60.0, ge=0, description="no backlog this long: scale down, to zero")
    look_back_period_s: float = Field(
        12.0, gt=0, description="Serve's load averaging window; above its metrics_interval_s"
    )
    num_cpus: float = Field(0.5, gt=0)
    delay_s: float = Field(
        0.0, ge=0, description="wait before each prediction, lease kept: fault drills and tests"
    )

    _look_back = field_validator("look_back_period_s")(_look_back_above_metrics_interval)

    def to_serve(self) -> dict[str, Any]:
        """Ray Serve's ``autoscaling_config``: one replica per ``concurrency`` calls in flight."""
        return {
            "min_replicas": 0,
            "initial_replicas": 0,
            "max_replicas": self.max_replicas,
            "target_ongoing_requests": self.concurrency,
            "upscale_delay_s": 0.0,
            "downscale_delay_s": self.idle_s,
            "downscale_to_zero_delay_s": self.idle_s,
            "look_back_period_s": self.look_back_period_s,
        }


class AsyncInferenceSpec(_Strict):
    """Asynchronous inference: requests queued in a durable store, answered by consumers.

    ``store_url`` is a SQLAlchemy URL (SQLite file by default; ``postgresql://…`` on a cluster)
    and ``storage_path`` the folder of payload and result files (shared by every node).
    """

    enabled: bool = True
    store_url: str | None = Field(
        None, description="default: sqlite:///$RAYMAKER_HOME/async/<endpoint>/requests.db"
    )
    storage_path: str | None = Field(
        None, description="default: $RAYMAKER_HOME/async/<endpoint>/files"
    )
    max_body_bytes: int = Field(64 << 20, ge=256)
    max_queued: int = Field(1000, ge=1, description="queued + running; beyond: 429")
    retry_after_s: int = Field(5, ge=1, description="the Retry-After of a 429")
    ttl_s: float = Field(86400.0, gt=0, description="finished requests kept this long")
    queued_ttl_s: float = Field(
        86400.0, ge=1, description="still queued this long after submit: expired, never answered"
    )
    lease_s: float = Field(30.0, gt=0, description="a silent consumer loses its request after")
    max_attempts: int = Field(3, ge=1, description="deliveries of a request before it fails")
    retry_base_s: float = Field(1.0, gt=0, description="first retry delay; doubles per retry")
    retry_max_s: float = Field(300.0, gt=0)
    sweep_interval_s: float = Field(1.0, gt=0, description="expiry, wake-ups and callbacks")
    consumers: AsyncConsumerSpec = AsyncConsumerSpec()
    callback_secret_env: str | None = Field(
        None, description="env var holding the HMAC key; unset: callbacks are refused"
    )
    callback_hosts: list[str] = Field(
        default_factory=list,
        description="hosts callbacks may go to (exact, or *.example.com); empty: any host",
    )
    callback_max_attempts: int = Field(8, ge=1)
    callback_timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _retry_bounds(self) -> AsyncInferenceSpec:
        if self.retry_max_s < self.retry_base_s:
            raise ValueError(
                f"async_inference.retry_max_s {self.retry_max_s} is below retry_base_s "
                f"{self.retry_base_s}; raise retry_max_s or lower retry_base_s"
            )
        return self

    def callback_secret(self, environ: Mapping[str, str] | None = None) -> bytes | None:
        """The HMAC key from ``callback_secret_env``; None when callbacks are off."""
        if self.callback_secret_env is None:
            return None
        env = os.environ if environ is None else environ
        value = env.get(self.callback_secret_env, "").strip()
        if len(value) < 16:
            raise SpecError(
                f"async_inference.callback_secret_env names {self.callback_secret_env!r} but "
                "that environment variable is unset or shorter than 16 characters; export "
                f"{self.callback_secret_env}=$(openssl rand -hex 32) where the endpoint runs"
            )
        return value.encode()


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class FaultSpec(_Strict):
    """Faults injected into a variant's answers, for drills (as Istio's fault injection):
    rehearse that a rollout rolls back, or that a slow shadow costs callers nothing."""

    abort_percent: float = Field(0.0, ge=0, le=100, description="answer abort_status instead")
    abort_status: int = Field(500, ge=400, le=599)
    delay_ms: float = Field(0.0, ge=0, le=60_000, description="wait before answering")
    delay_percent: float = Field(100.0, ge=0, le=100)


_OWN_SETTINGS = ("autoscaling", "num_cpus", "resources", "fault")  # only own replicas have them


class VariantSpec(_Strict):
    """One version of the endpoint's model with a share of its traffic.

    Share = weight ÷ the sum of weights (as SageMaker's production variants). The first variant
    runs in the endpoint's own replicas. Another variant either shares them (``replicas:
    shared``: every replica also loads its version; a request for it is answered where it
    arrives, one hop) or has replicas of its own (``replicas: own``: a Serve application beside
    the endpoint's, with its own ``autoscaling``/``num_cpus``/``resources``; isolated, a second
    hop). Default: own when any of those or ``fault`` is given, else shared. A large candidate
    gets its own replicas, so it does not double every replica's memory.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    model: str = Field(description="'name:version', or 'name' for its newest Approved version")
    weight: float = Field(1.0, ge=0)
    force: bool = Field(False, description="serve a version that is not Approved")
    autoscaling: AutoscalingSpec | None = None
    num_cpus: float | None = Field(None, gt=0)
    resources: dict[str, float] | None = None
    fault: FaultSpec | None = Field(None, description="injected faults, for drills")
    replicas: Literal["own", "shared"] | None = Field(
        None, description="own replicas or the endpoint's (default: own when settings are given)"
    )

    @model_validator(mode="after")
    def _shared_takes_no_settings(self) -> VariantSpec:
        if self.replicas == "shared":
            given = [f for f in _OWN_SETTINGS if getattr(self, f) is not None]
            if given:
                raise ValueError(
                    f"variant {self.name!r} shares the endpoint's replicas (replicas: shared) "
                    f"but sets {given}, which only replicas of its own have: drop them or set "
                    "replicas: own"
                )
        return self

    @property
    def shares_replicas(self) -> bool:
        """Whether this variant is loaded into the endpoint's replicas (see the class doc)."""
        if self.replicas is not None:
            return self.replicas == "shared"
        return all(getattr(self, f) is None for f in _OWN_SETTINGS)

    @field_validator("model")
    @classmethod
    def _model_ref(cls, value: str) -> str:
        name, _, version = value.partition(":")
        if not re.fullmatch(_NAME, name) or (version and not version.isdigit()):
            raise ValueError(
                f"model {value!r} must be 'name:version' (e.g. fair:4) or a registered name"
            )
        if version and int(version) < 1:
            raise ValueError(f"model {value!r}: versions start at 1")
        return value

    @field_validator("resources")
    @classmethod
    def _custom_resources(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        return None if value is None else replica_resources(value)

    @property
    def model_name(self) -> str:
        return self.model.partition(":")[0]

    @property
    def version(self) -> int | None:
        v = self.model.partition(":")[2]
        return int(v) if v else None


class ShadowSpec(_Strict):
    """Mirror ``percent`` of requests to ``variant``; its answers are captured, never returned."""

    variant: str
    percent: float = Field(100.0, gt=0, le=100)


class EndpointSpec(_Strict):
    """A Ray Serve application serving registered models over KServe V1 and OIP V2."""

    name: str = Field("raymaker", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    route_prefix: str = Field("/", pattern=r"^/")
    models: list[ModelRef] | ModelSetSpec = Field(
        description="a list pins models; a mapping is a model set (serve.multi_model.spec)"
    )
    autoscaling: AutoscalingSpec = AutoscalingSpec()
    max_ongoing_requests: int = Field(32, ge=1)
    batching: BatchingSpec = BatchingSpec()
    auth: AuthSpec = AuthSpec()
    capture: CaptureSpec = CaptureSpec()
    max_body_bytes: int = Field(1 << 20, ge=256)
    max_explain_rows: int = Field(
        100, ge=1, le=10_000, description="rows per explain request; more gets 413"
    )
    tracking_uri: str | None = Field(None, description="MLflow registry; default: embedded")
    num_cpus: float = Field(0.5, gt=0, description="CPU slots per replica")
    resources: dict[str, float] | None = Field(
        None, description="custom Ray resources per replica, e.g. {accelerator_type_T4: 1}"
    )
    max_replicas_per_node: int | None = Field(
        None, ge=1, le=100, description="spread replicas: at most this many on one node"
    )
    registry_check_interval_s: float = Field(
        30.0, ge=1, description="how often a replica re-reads its versions' approval status"
    )
    async_inference: AsyncInferenceSpec = AsyncInferenceSpec()
    variants: list[VariantSpec] | None = Field(None, min_length=1)
    shadow: ShadowSpec | None = None
    traffic_store_url: str | None = Field(
        None, description="weights and rollouts; default: sqlite:///$RAYMAKER_HOME/traffic.db"
    )
    pipelines: dict[str, str] = Field(
        default_factory=dict,
        description="{name: pipeline YAML} that POST /admin/pipelines/{name}:run may start",
    )

    @field_validator("pipelines")
    @classmethod
    def _pipeline_files(cls, value: dict[str, str]) -> dict[str, str]:
        # An allow-list: HTTP starts only these. Relative paths are taken from the current
        # directory now, as capture.path is; the files are checked at deploy (pipeline_files).
        out = {}
        for name, path in value.items():
            if not re.fullmatch(_NAME, name):
                raise ValueError(
                    f"pipelines names {name!r}, which is not a pipeline name for a URL: start "
                    "with a letter or digit and use only letters, digits, _ . - (at most 64)"
                )
            if not path.strip():
                raise ValueError(
                    f"pipelines.{name} is empty; give the pipeline YAML's path, e.g. "
                    f"{{{name}: pipeline.yaml}}"
                )
            out[name] = str(Path(path.strip()).expanduser().resolve())
        return out

    @field_validator("models", mode="wrap")
    @classmethod
    def _list_or_set(cls, value: Any, handler: Any) -> list[ModelRef] | ModelSetSpec:
        # Validated as the form given (a mapping is a set, a list pins models), so an error
        # names the fields of that form only, not a failed attempt at the other.
        if isinstance(value, ModelSetSpec | Mapping):
            return ModelSetSpec.model_validate(value)
        if isinstance(value, list | tuple):
            return _MODEL_LIST.validate_python(value)
        raise ValueError(
            "models is a list of registered models ([{name: cancer, version: 3}]) or a model "
            "set mapping ({prefix: store-, max_models: 20})"
        )

    @property
    def model_set(self) -> ModelSetSpec | None:
        """The model set of a multi-model endpoint; None when ``models`` pins a list."""
        return self.models if isinstance(self.models, ModelSetSpec) else None

    @model_validator(mode="before")
    @classmethod
    def _model_set_without_async(cls, data: Any) -> Any:
        # The async consumer loads the listed versions at its start; a model set's models load
        # on demand in the endpoint's replicas only, so a model set turns the default off.
        if not isinstance(data, Mapping) or "async_inference" in data:
            return data
        if isinstance(data.get("models"), Mapping | ModelSetSpec):
            data = {**data, "async_inference": {"enabled": False}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _models_from_variants(cls, data: Any) -> Any:
        # With variants, the endpoint serves one model: its replicas host the first variant
        # (``models`` is derived from it, so everything that reads ``models`` keeps working).
        if isinstance(data, Mapping) and data.get("variants") and not data.get("models"):
            first = data["variants"][0]
            ref = first.model if isinstance(first, VariantSpec) else dict(first).get("model")
            if isinstance(ref, str):
                name, _, version = ref.partition(":")
                force = first.force if isinstance(first, VariantSpec) else first.get("force", False)
                model = {"name": name, "force": force}
                if version.isdigit():
                    model["version"] = int(version)
                data = {**data, "models": [model]}
        return data

    @model_validator(mode="after")
    def _model_set_alone(self) -> EndpointSpec:
        if self.model_set is None:
            return self
        given = [f for f in ("variants", "shadow") if getattr(self, f) is not None]
        if given:
            raise ValueError(
                f"models is a model set ({self.model_set.selector}) but the endpoint also sets "
                f"{given}: variants and a shadow split ONE model's traffic between pinned "
                "versions, while a model set serves each of its models at its newest Approved "
                "version; serve a model that needs them from an endpoint of its own (models: "
                "[{name: <model>}] with variants:)"
            )
        if self.async_inference.enabled:
            raise ValueError(
                f"models is a model set ({self.model_set.selector}) and async_inference is "
                "enabled: its consumers load a fixed list of versions, while a set's models "
                "load on demand in the endpoint's replicas; set async_inference: {enabled: "
                "false} (the default for a model set) or serve those models from a list"
            )
        return self

    @model_validator(mode="after")
    def _variants(self) -> EndpointSpec:
        if self.model_set is not None:
            return self  # refused above with variants or a shadow
        if self.variants is None:
            if self.shadow is not None:
                raise ValueError(
                    "shadow names a variant but the endpoint has no variants; add variants: "
                    "[{name: prod, model: m:1}, {name: cand, model: m:2, weight: 0}]"
                )
            return self
        names = [v.name for v in self.variants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"variants names {dupes} more than once; give each a unique name")
        models = sorted({v.model_name for v in self.variants})
        if len(models) > 1:
            raise ValueError(
                f"variants serve models {models}; variants are versions of ONE model (its "
                "routes name it): register the candidate under the same model name"
            )
        first = self.variants[0]
        if first.fault is not None:
            raise ValueError(
                f"variant {first.name!r} has a fault but runs in the endpoint's own replicas; "
                "inject faults into a variant listed after the first"
            )
        if (
            len(self.models) != 1
            or self.models[0].name != first.model_name
            or (self.models[0].version != first.version)
        ):
            raise ValueError(
                "give either models: or variants:, not both; with variants the endpoint serves "
                "the first variant's model"
            )
        if sum(v.weight for v in self.variants) <= 0:
            raise ValueError("variants' weights are all 0; give at least one a positive weight")
        if self.shadow is not None:
            if self.shadow.variant not in names:
                raise ValueError(
                    f"shadow.variant {self.shadow.variant!r} is not a variant; variants are {names}"
                )
            if self.shadow.variant == first.name:
                raise ValueError(
                    f"shadow.variant {first.name!r} is the first variant, which answers callers; "
                    "shadow a candidate listed after it"
                )
            shadowed = next(v for v in self.variants if v.name == self.shadow.variant)
            if shadowed.weight > 0:
                raise ValueError(
                    f"variant {shadowed.name!r} is the shadow and has weight {shadowed.weight:g}; "
                    "a shadow never answers callers: set its weight to 0"
                )
        return self

    @model_validator(mode="after")
    def _unique_models(self) -> EndpointSpec:
        if self.model_set is not None:
            return self
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"models lists {dupes} more than once; an endpoint serves one version of each "
                "model: keep one entry per name (deploy another endpoint for a second version)"
            )
        return self

    @field_validator("resources")
    @classmethod
    def _custom_resources(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        return None if value is None else replica_resources(value)

    def ray_actor_options(self) -> dict[str, Any]:
        """Serve's ``ray_actor_options`` of a replica: its CPUs and custom resources."""
        options: dict[str, Any] = {"num_cpus": self.num_cpus}
        if self.resources:
            options["resources"] = dict(self.resources)
        return options

    def pipeline_files(self) -> dict[str, str]:
        """``pipelines`` once every file is there: a missing one fails the deploy, not the
        first POST /admin/pipelines/{name}:run."""
        for name, path in self.pipelines.items():
            if not Path(path).is_file():
                raise SpecError(
                    f"pipelines.{name}: {path!r} is not a file; a relative path is taken from "
                    "the directory you deploy from: fix the path (or deploy from the folder it "
                    f"is relative to), or remove {name!r} from pipelines"
                )
        return dict(self.pipelines)

    def placement(self) -> dict[str, Any]:
        """Serve's deployment options that place replicas (``max_replicas_per_node``)."""
        if self.max_replicas_per_node is None:
            return {}
        return {"max_replicas_per_node": self.max_replicas_per_node}


# Ray takes these as num_cpus / num_gpus / memory options, and refuses them among resources.
_BUILTIN_RESOURCES = {"CPU": "num_cpus", "GPU": "num_gpus", "memory": "memory"}


def replica_resources(value: Mapping[str, float]) -> dict[str, float]:
    """Check custom resources as Ray would, with messages naming the field and the fix."""
    for name, quantity in value.items():
        if name in _BUILTIN_RESOURCES:
            raise ValueError(
                f"resources names {name!r}, which Ray sets with its own option; use "
                f"{_BUILTIN_RESOURCES[name]!r} for the replica's {name} and keep resources "
                "for custom resources (e.g. rmk_worker: 1)"
            )
        if not name.strip():
            raise ValueError("resources has an empty resource name; name a custom resource")
        if not math.isfinite(quantity) or quantity <= 0:
            raise ValueError(
                f"resources.{name} is {quantity}; a replica needs a positive, finite quantity "
                "(a fraction such as 0.5 shares one unit; remove the entry to need none)"
            )
        if quantity < 0.0001:
            raise ValueError(
                f"resources.{name} is {quantity}; Ray counts resources in steps of 0.0001: "
                "use at least 0.0001"
            )
    return dict(value)


def load_endpoint_spec(path: str | Path) -> EndpointSpec:
    """Read and validate an endpoint YAML file."""
    return parse_spec(EndpointSpec, load_yaml(path), source=str(path))


def endpoint_spec(data: EndpointSpec | dict[str, Any] | str | Path) -> EndpointSpec:
    """An EndpointSpec from itself, a dict, or a YAML path."""
    if isinstance(data, EndpointSpec):
        return data
    if isinstance(data, dict):
        return parse_spec(EndpointSpec, data, source="endpoint spec")
    return load_endpoint_spec(data)
