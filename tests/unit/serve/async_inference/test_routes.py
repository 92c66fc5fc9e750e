"""The async routes and their role: an inference key, like the real-time routes."""

import pytest

from serve import routes


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("POST", "/v1/models/iris:predict-async", "v1_predict_async", {"name": "iris"}),
        ("POST", "/v2/models/iris/infer-async", "v2_infer_async", {"name": "iris"}),
        ("POST", "/v2/models/iris/versions/2/infer-async", "v2_infer_async",
         {"name": "iris", "version": "2"}),
        ("GET", "/async/requests/ab12", "async_status", {"id": "ab12"}),
        ("GET", "/async/requests/ab12/result", "async_result", {"id": "ab12"}),
    ],
)  # fmt: skip
def test_async_routes_take_an_inference_key(method, path, name, params):
    route = routes.match(method, path)
    assert (route.name, route.params, route.role) == (name, params, "inference")


def test_wrong_methods_are_405():
    assert routes.match("GET", "/v1/models/iris:predict-async").name == "method_not_allowed"
    assert routes.match("POST", "/async/requests/ab12").name == "method_not_allowed"
