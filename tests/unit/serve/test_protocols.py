import json

import numpy as np
import pytest
from _factories import xgboost_artifact

from ray_apps.artifact import load_model
from ray_apps.errors import SpecError
from serve import protocol_v1, protocol_v2
from serve.served_model import ServedModel

ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    art = xgboost_artifact(tmp_path_factory.mktemp("m") / "a")
    return ServedModel("iris", 4, "Approved", load_model(art))


def _b(doc) -> bytes:
    return json.dumps(doc).encode()


def test_v1_lists_and_objects_give_the_same_matrix(model):
    f = model.features
    x = protocol_v1.parse_request(_b({"instances": [ROW, ROW]}), f)
    objs = protocol_v1.parse_request(_b({"instances": [dict(zip(f, ROW, strict=True))] * 2}), f)
    assert x.shape == (2, 4) and (x == objs).all()
    assert (protocol_v1.parse_request(_b({"inputs": [ROW]}), f) == x[:1]).all()


def test_v1_response_names_model_version_and_probabilities(model):
    x = protocol_v1.parse_request(_b({"instances": [ROW]}), model.features)
    out = protocol_v1.build_response(model, model.predict(x))
    assert (out["model_name"], out["model_version"], out["predictions"]) == ("iris", "4", [0])
    assert len(out["probabilities"][0]) == 3 and out["classes"] == [0, 1, 2]
    assert json.dumps(out)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b"{", "not valid JSON"),
        (b"[1]", '{"instances": [...]}'),
        (_b({"instances": 3}), "must be a list"),
        (_b({"instances": []}), "empty"),
        (_b({"instances": [[1, 2]]}), "[n, 4]"),
        (_b({"instances": [[[1, 2, 3, 4]]]}), "got shape [1, 1, 4]"),
        (_b({"instances": [[True, False, True, False]]}), "booleans"),
        (_b({"instances": [["1", "2", "3", "4"]]}), "strings"),
        (_b({"instances": [[None, 1, 2, 3]]}), "mixed values"),
        (b'{"instances": [[1, 2, 3, Infinity]]}', "NaN or infinite"),
        (_b({"instances": [{"a": 1}]}), "unknown features ['a']"),
        (_b({"instances": [ROW, {"a": 1}]}), "do not mix objects and lists"),
    ],
)
def test_v1_bad_bodies_say_what_was_expected(model, body, says):
    with pytest.raises(SpecError) as err:
        protocol_v1.parse_request(body, model.features)
    assert says in str(err.value)


def _tensor(data, shape=(1, 4), datatype="FP32", name="input-0", **extra):
    return {"name": name, "shape": list(shape), "datatype": datatype, "data": data, **extra}


def test_v2_one_tensor_per_feature_nested_or_flat(model):
    f = model.features
    flat = protocol_v2.parse_request(_b({"inputs": [_tensor(ROW * 2, (2, 4))]}), f)
    nested = protocol_v2.parse_request(_b({"inputs": [_tensor([ROW, ROW], (2, 4))]}), f)
    per_feature = protocol_v2.parse_request(
        _b({"inputs": [_tensor([v, v], (2,), name=n) for n, v in zip(f, ROW, strict=True)]}), f
    )
    assert (flat.x == nested.x).all() and (flat.x == per_feature.x).all()
    assert flat.outputs == ("predict", "probabilities")


def test_v2_binary_tensor_extension(model):
    data = np.asarray([ROW], np.float32)
    header = _b(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [1, 4],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": data.nbytes},
                }
            ]
        }
    )
    req = protocol_v2.parse_request(header + data.tobytes(), model.features, len(header))
    assert np.allclose(req.x, data)


def test_v2_response_is_typed_and_names_the_version(model):
    req = protocol_v2.parse_request(
        _b({"id": "r1", "inputs": [_tensor(ROW)], "outputs": [{"name": "probabilities"}]}),
        model.features,
    )
    out = protocol_v2.build_response(model, model.predict(req.x), req, "fallback")
    assert (out["id"], out["model_version"]) == ("r1", "4")
    (probs,) = out["outputs"]
    assert (probs["name"], probs["shape"], probs["datatype"]) == ("probabilities", [1, 3], "FP64")
    meta = protocol_v2.model_metadata(model)
    assert meta["inputs"][0]["shape"] == [-1, 4] and meta["versions"] == ["4"]


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"inputs": []}, "empty"),
        ({"inputs": "x"}, '"inputs" list'),
        ({"inputs": [{"name": "x"}]}, "lacks ['shape', 'datatype']"),
        ({"inputs": [_tensor(ROW, datatype="BYTES")]}, "'BYTES' is not supported"),
        ({"inputs": [_tensor(ROW, datatype="BOOL")]}, "BOOL is not a feature type"),
        ({"inputs": [_tensor([1.5, 2, 3, 4], datatype="INT32")]}, "datatype is INT32"),
        ({"inputs": [_tensor(["a", "b", "c", "d"])]}, "strings"),
        ({"inputs": [_tensor(ROW, (2, 4))]}, "needs 8 values"),
        ({"inputs": [_tensor(ROW, (1, -4))]}, "non-negative"),
        ({"inputs": [_tensor([1.0], (1,) * 70)]}, "has 70 dimensions"),
        ({"inputs": [_tensor([], (0, 4))]}, "empty"),
        ({"inputs": [_tensor(ROW[:3], (1, 3))]}, "[n, 4]"),
        ({"inputs": [_tensor([1], (1,), name="a"), _tensor([1], (1,), name="b")]}, "unknown names"),
        ({"inputs": [_tensor(ROW)], "outputs": [{"name": "logits"}]}, "do not exist"),
    ],
)
def test_v2_bad_bodies_say_what_was_expected(model, doc, says):
    with pytest.raises(SpecError) as err:
        protocol_v2.parse_request(_b(doc), model.features)
    assert says in str(err.value)


def test_v2_binary_size_past_the_end_is_refused(model):
    header = _b({"inputs": [_tensor(None, parameters={"binary_data_size": 64})]})
    with pytest.raises(SpecError, match="past the end"):
        protocol_v2.parse_request(header + b"\0" * 8, model.features, len(header))
    with pytest.raises(SpecError, match="does not fit"):
        protocol_v2.parse_request(header, model.features, len(header) + 10)


@pytest.mark.parametrize(
    ("datatype", "value", "bounds"),
    [
        ("INT8", 300, "[-128, 127]"),
        ("INT8", -129, "[-128, 127]"),
        ("UINT8", -1, "[0, 255]"),
        ("INT16", 40000, "[-32768, 32767]"),
        ("UINT16", 70000, "[0, 65535]"),
        ("INT32", 2**31, "[-2147483648, 2147483647]"),
        ("UINT32", 2**32, "[0, 4294967295]"),
        ("INT64", 2**63, "[-9223372036854775808, 9223372036854775807]"),
        ("UINT64", 2**64, "[0, 18446744073709551615]"),
        ("UINT64", -1, "[0, 18446744073709551615]"),
        ("FP16", 70000.0, "[-65504.0, 65504.0]"),
        ("FP32", 1e39, "3.4028234663852886e+38]"),
    ],
)
def test_v2_json_values_outside_the_datatype_are_refused(model, datatype, value, bounds):
    doc = {"inputs": [_tensor([value, 1, 2, 3], datatype=datatype, name="x")]}
    with pytest.raises(SpecError) as err:
        protocol_v2.parse_request(_b(doc), model.features)
    says = str(err.value)
    assert f"input 'x': value {value}" in says and datatype in says and bounds in says, says


@pytest.mark.parametrize(
    ("datatype", "data"),
    [("INT8", [127, -128, 0, 1]), ("UINT64", [2**63, 1, 2, 3]), ("FP16", [65504.0, 0, 1, 2])],
)
def test_v2_json_values_at_the_datatype_edges_are_accepted(model, datatype, data):
    req = protocol_v2.parse_request(
        _b({"inputs": [_tensor(data, datatype=datatype)]}), model.features
    )
    assert req.x.tolist() == [[float(v) for v in data]]


def test_v1_and_v2_refuse_booleans_among_numbers(model):
    with pytest.raises(SpecError, match="booleans"):
        protocol_v1.parse_request(_b({"instances": [[True, 1, 2, 3]]}), model.features)
    with pytest.raises(SpecError, match="booleans"):
        protocol_v2.parse_request(_b({"inputs": [_tensor([True, 1, 2, 3])]}), model.features)
