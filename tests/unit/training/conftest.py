import pytest

from ray_apps.spec import TrainJobSpec, parse_spec
from ray_apps.training import loop_config, prepare_data, tables


def train_spec(kind: str, hyperparameters: dict, **overrides) -> TrainJobSpec:
    source = "sklearn:iris" if kind == "torch" else "sklearn:breast_cancer"
    return parse_spec(
        TrainJobSpec,
        {
            "name": "unit",
            "dataset": {"source": source},
            "model": {
                "kind": kind,
                **({"params": {"hidden_sizes": [16]}} if kind == "torch" else {}),
            },
            "hyperparameters": hyperparameters,
            "checkpoint": {"every": 2},
            **overrides,
        },
    )


class Job:
    """A job spec with its data, preprocessing, loop frames and loop config."""

    def __init__(self, spec: TrainJobSpec):
        self.spec = spec
        self.data, self.pre = prepare_data(spec)
        self.frames = tables(self.data, self.pre)
        self.config = loop_config(spec, self.data, self.pre)


@pytest.fixture(scope="module")
def torch_job() -> Job:
    return Job(train_spec("torch", {"epochs": 6, "batch_size": 16, "lr": 0.01}))


@pytest.fixture(scope="module")
def xgboost_job() -> Job:
    return Job(train_spec("xgboost", {"rounds": 6, "params": {"max_depth": 2}}))
