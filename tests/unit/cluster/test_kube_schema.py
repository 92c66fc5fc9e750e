"""The CRD dialect translation in tests/_kube_schema.py: closed where Kubernetes closes."""

import jsonschema
from _kube_schema import _strict

CRD = {
    "type": "object",
    "properties": {
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["replicas", "name"],
            "properties": {
                "name": {"type": "string"},
                "replicas": {"type": "integer", "default": 1},
                "cpu": {"x-kubernetes-int-or-string": True},
                "config": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "note": {"type": "string", "nullable": True},
            },
        },
    },
}


def valid(doc):
    return jsonschema.Draft7Validator(_strict(CRD, root=True)).is_valid(doc)


def test_unknown_fields_are_refused_except_where_the_crd_preserves_them():
    base = {"metadata": {"name": "x"}, "spec": {"name": "n"}}
    assert valid(base)  # replicas has a default: the server fills it in
    assert not valid({**base, "spec": {"name": "n", "replica": 2}})
    assert valid({**base, "spec": {"name": "n", "config": {"a": "1", "anything": [1]}}})


def test_int_or_string_nullable_and_metadata():
    spec = {"name": "n"}
    assert valid({"metadata": {"name": "x"}, "spec": {**spec, "cpu": 4, "note": None}})
    assert valid({"metadata": {"name": "x"}, "spec": {**spec, "cpu": "500m"}})
    assert not valid({"metadata": {"name": "x"}, "spec": {**spec, "cpu": [4]}})
    assert not valid({"metadata": {}, "spec": spec})
    assert valid({"metadata": {"generateName": "x-"}, "spec": spec})
