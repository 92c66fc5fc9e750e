"""The async settings: defaults resolved under the raymaker home, the signing key checked at
deploy time, the public names pinned."""

import pytest

import serve.async_inference
from ray_apps.errors import SpecError
from ray_apps.spec import parse_spec
from serve.config import AsyncInferenceSpec, EndpointSpec
from serve.replica_settings import ReplicaSettings


def _settings(tmp_path, **async_inference):
    spec = parse_spec(
        EndpointSpec, {"name": "ep", "models": [{"name": "m"}], "async_inference": async_inference}
    )
    return ReplicaSettings.from_spec(spec, tracking_uri="sqlite:///x.db", home=tmp_path)


def test_store_and_files_default_under_the_home_per_endpoint(tmp_path):
    a = _settings(tmp_path).async_inference
    assert a.store_url == f"sqlite:///{tmp_path.resolve() / 'async' / 'ep' / 'requests.db'}"
    assert a.storage_path == str(tmp_path.resolve() / "async" / "ep" / "files")
    assert a.max_body_bytes > EndpointSpec.model_fields["max_body_bytes"].default
    assert ReplicaSettings.parse(_settings(tmp_path).to_args()).async_inference == a


def test_a_missing_or_short_signing_key_fails_the_deploy_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("CB_KEY", raising=False)
    with pytest.raises(SpecError, match="CB_KEY.*openssl rand"):
        _settings(tmp_path, callback_secret_env="CB_KEY")
    monkeypatch.setenv("CB_KEY", "short")
    with pytest.raises(SpecError, match="shorter than 16"):
        _settings(tmp_path, callback_secret_env="CB_KEY")
    monkeypatch.setenv("CB_KEY", "k" * 32)
    settings = _settings(tmp_path, callback_secret_env="CB_KEY")
    assert "k" * 32 not in str(settings.to_args())  # the key never travels, only its name


def test_bad_settings_name_the_field(tmp_path):
    with pytest.raises(SpecError, match="retry_max_s"):
        _settings(tmp_path, retry_base_s=10, retry_max_s=1)
    with pytest.raises(SpecError, match="queued_ttl_s"):
        _settings(tmp_path, queued_ttl_s=0.5)
    with pytest.raises(SpecError, match="consumers"):
        _settings(tmp_path, consumers={"replicas": 2})
    assert AsyncInferenceSpec().consumers.to_serve()["min_replicas"] == 0


def test_public_names():
    assert sorted(serve.async_inference.__all__) == [
        "AsyncStore", "NewRequest", "SignatureError", "sign", "verify_signature",
    ]  # fmt: skip
    for name in serve.async_inference.__all__:
        assert getattr(serve.async_inference, name) is not None
