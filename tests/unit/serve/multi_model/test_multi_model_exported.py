"""Pins the public surface of ``serve.multi_model``."""

import serve.multi_model


def test_public_names():
    assert sorted(serve.multi_model.__all__) == [
        "LruResult",
        "ModelCache",
        "ModelSetSpec",
        "ModelTooLarge",
        "RegistryEntry",
        "Scope",
        "check_scope",
        "key_allows",
        "model_bytes",
        "parse_model_set",
        "parse_scope",
        "read_listing",
        "servable_versions",
        "simulate_lru",
        "zipf_trace",
    ]
    for name in serve.multi_model.__all__:
        assert getattr(serve.multi_model, name) is not None
