"""The strategy table and its options: validation, the generated DeepSpeed config, conflicts."""

from __future__ import annotations

import json

import pytest

from ray_apps.errors import SpecError
from ray_apps.learners.strategies import get_strategy, strategy_names
from ray_apps.learners.strategies._deepspeed_config import DeepSpeedOptions, job_config
from ray_apps.spec import TrainJobSpec, parse_spec


def spec(strategy, use_gpu: bool = False, kind: str = "torch", **hp) -> TrainJobSpec:
    return parse_spec(
        TrainJobSpec,
        {
            "name": "unit",
            "dataset": {"source": "sklearn:iris"},
            "model": {"kind": kind},
            "hyperparameters": {"batch_size": 32, "lr": 0.01, **hp},
            "scaling": {"num_workers": 2, "use_gpu": use_gpu, "strategy": strategy},
        },
    )


def test_table_lists_every_strategy_and_names_them_on_a_typo():
    assert strategy_names() == ["ddp", "deepspeed", "fsdp"]
    assert all(get_strategy(n).name == n for n in strategy_names())
    with pytest.raises(SpecError, match="one of ddp, deepspeed, fsdp"):
        spec({"kind": "zero"})


def test_default_is_ddp_and_a_bare_name_is_accepted():
    assert spec("ddp").scaling.strategy.kind == "ddp"
    assert spec("fsdp").scaling.strategy.sharding == "full"
    assert (
        parse_spec(
            TrainJobSpec,
            {"name": "u", "dataset": {"source": "sklearn:iris"}, "model": {"kind": "torch"}},
        ).scaling.strategy.kind
        == "ddp"
    )


def test_generated_deepspeed_config_carries_the_job():
    options = spec(
        {
            "kind": "deepspeed",
            "zero_stage": 3,
            "offload_optimizer": "cpu",
            "gradient_accumulation_steps": 2,
            "gradient_clipping": 1.0,
        }
    ).scaling.strategy
    config = job_config(options, batch_size=32, lr=0.01, weight_decay=0.0, optimizer="adamw")
    assert config["train_micro_batch_size_per_gpu"] == 32
    assert config["gradient_accumulation_steps"] == 2
    assert config["gradient_clipping"] == 1.0
    assert config["zero_optimization"]["stage"] == 3
    assert config["zero_optimization"]["offload_optimizer"] == {"device": "cpu"}
    assert config["optimizer"] == {
        "type": "AdamW",
        "params": {"lr": 0.01, "weight_decay": 0.0, "torch_adam": True},
    }
    assert "train_batch_size" not in config  # DeepSpeed derives it from the worker count


def test_user_json_is_kept_and_a_conflict_names_both_values(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({"zero_optimization": {"stage": 2, "overlap_comm": False}}))
    options = spec({"kind": "deepspeed", "config": str(path)}).scaling.strategy
    assert options.stage == 2
    config = job_config(options, batch_size=32, lr=0.01, weight_decay=0.0, optimizer="adam")
    assert config["zero_optimization"]["overlap_comm"] is False

    with pytest.raises(SpecError) as err:
        spec({"kind": "deepspeed", "zero_stage": 3, "config": str(path)})
    assert "zero_optimization.stage to 2" in str(err.value)
    assert "scaling.strategy.zero_stage gives 3" in str(err.value)
    with pytest.raises(SpecError, match=r"optimizer.params.lr to 0.1 but hyperparameters.lr"):
        spec({"kind": "deepspeed", "config": {"optimizer": {"params": {"lr": 0.1}}}})
    with pytest.raises(SpecError, match="train_batch_size"):
        spec({"kind": "deepspeed", "config": {"train_batch_size": 64}})


@pytest.mark.parametrize(
    "strategy",
    [
        {"kind": "deepspeed", "precision": "bf16"},
        {"kind": "deepspeed", "config": {"fp16": {"enabled": True}}},
        {"kind": "fsdp", "precision": "bf16"},
    ],
)
def test_half_precision_on_cpu_is_refused(strategy):
    with pytest.raises(SpecError, match="needs a GPU.*use_gpu: true or precision: fp32"):
        spec(strategy)
    assert spec(strategy, use_gpu=True).scaling.strategy.kind == strategy["kind"]


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        ({"kind": "deepspeed", "zero_stage": 2, "offload_param": "cpu"}, "needs zero_stage 3"),
        (
            {"kind": "deepspeed", "zero_stage": 3, "offload_param": {"device": "nvme"}},
            "nvme needs nvme_path",
        ),
        (
            {"kind": "deepspeed", "zero_stage": 1, "offload_optimizer": "nvme"},
            "nvme needs nvme_path",
        ),
        ({"kind": "deepspeed", "zero_stage": 4}, "zero_stage"),
        ({"kind": "deepspeed", "zero_stag": 3}, "zero_stag: unknown field"),
        ({"kind": "fsdp", "sharding": "hybrid"}, "sharding"),
    ],
)
def test_bad_options_name_the_field(strategy, message):
    with pytest.raises(SpecError, match=message):
        spec(strategy)


def test_config_file_must_exist_and_be_json(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        DeepSpeedOptions.model_validate({"config": str(tmp_path / "none.json")})
    bad = tmp_path / "bad.json"
    bad.write_text("{stage: 3")
    with pytest.raises(ValueError, match="not valid JSON"):
        DeepSpeedOptions.model_validate({"config": str(bad)})


def test_strategies_train_torch_models_only():
    with pytest.raises(SpecError, match="trains torch models only"):
        parse_spec(
            TrainJobSpec,
            {
                "name": "unit",
                "dataset": {"source": "sklearn:iris"},
                "model": {"kind": "xgboost"},
                "hyperparameters": {},
                "scaling": {"strategy": "fsdp"},
            },
        )


def test_public_names_are_pinned():
    import ray_apps.learners.strategies as strategies

    assert strategies.__all__ == ["Engine", "Strategy", "get_strategy", "strategy_names"]
