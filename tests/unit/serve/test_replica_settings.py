"""Replica settings: built once from the spec, typed and frozen, and parsed back at the edge."""

import pickle

import pytest

from ray_apps.errors import SpecError
from ray_apps.spec import parse_spec
from serve.app import build
from serve.config import BatchingSpec, CaptureSpec, EndpointSpec
from serve.replica_settings import ReplicaSettings

USER_KEY, ADMIN_KEY = "user-key-Zq8XvT3m", "admin-key-Pw4NcL7r"


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    # Secrets no temp path can contain by chance (a tmp folder once held "k1").
    monkeypatch.setenv("K", USER_KEY)
    monkeypatch.setenv("A", ADMIN_KEY)
    spec = parse_spec(
        EndpointSpec,
        {
            "name": "ep",
            "models": [{"name": "m"}],
            "auth": {"api_key_envs": ["K"], "admin_key_envs": ["A"]},
            "capture": {"percent": 5},
        },
    )
    return ReplicaSettings.from_spec(spec, tracking_uri="sqlite:///x.db", home=tmp_path)


def test_defaults_are_the_specs(settings, tmp_path):
    assert settings.capture == CaptureSpec(percent=5, path=str(tmp_path / "capture"))
    assert settings.batching == BatchingSpec()
    assert settings.max_body_bytes == EndpointSpec.model_fields["max_body_bytes"].default
    interval = EndpointSpec.model_fields["registry_check_interval_s"].default
    assert settings.registry_check_interval_s == interval
    assert len(settings.key_digests) == len(settings.admin_key_digests) == 1
    assert USER_KEY not in str(settings.to_args()) and ADMIN_KEY not in str(settings.to_args())
    # Batch jobs started over HTTP: absolute paths fixed where the endpoint was deployed.
    assert (settings.home, settings.storage) == (str(tmp_path.resolve()), str(tmp_path / "runs"))


def test_run_storage_given_as_a_uri_or_a_path_under_home(tmp_path):
    spec = parse_spec(EndpointSpec, {"models": [{"name": "m"}]})
    build = lambda s: ReplicaSettings.from_spec(  # noqa: E731
        spec, tracking_uri="sqlite:///x.db", home=tmp_path, storage=s
    )
    assert build("s3://bucket/runs").storage == "s3://bucket/runs"
    assert build("elsewhere").storage == str(tmp_path.resolve() / "elsewhere")
    assert build("/abs/runs").storage == "/abs/runs"


def test_frozen_picklable_and_round_trips_through_a_serve_config(settings):
    with pytest.raises(ValueError, match="frozen"):
        settings.max_body_bytes = 1
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert ReplicaSettings.parse(settings.to_args()) == settings


def test_a_serve_config_with_unknown_or_missing_settings_is_refused(settings):
    args = settings.to_args()
    with pytest.raises(SpecError, match="colour: unknown field"):
        ReplicaSettings.parse({**args, "colour": "red"})
    with pytest.raises(SpecError, match="capture.flush_rowz: unknown field"):
        ReplicaSettings.parse({**args, "capture": {**args["capture"], "flush_rowz": 5}})
    missing = {k: v for k, v in args.items() if k != "admin_key_digests"}
    with pytest.raises(SpecError, match="admin_key_digests"):
        ReplicaSettings.parse(missing)
    with pytest.raises(SpecError, match=r"unknown args \['setings'\]"):
        build({"setings": args})
    assert build({"settings": args}) is not None  # the builder parses plain YAML args once


def test_a_capture_uri_stays_a_uri_and_a_relative_path_is_made_absolute(tmp_path):
    def capture_path(path):
        spec = parse_spec(
            EndpointSpec, {"name": "ep", "models": [{"name": "m"}], "capture": {"path": path}}
        )
        s = ReplicaSettings.from_spec(spec, tracking_uri="sqlite:///x.db", home=tmp_path)
        return s.capture.path

    assert capture_path("s3://bucket/raymaker/capture") == "s3://bucket/raymaker/capture"
    assert capture_path(str(tmp_path / "cap")) == str((tmp_path / "cap").resolve())
