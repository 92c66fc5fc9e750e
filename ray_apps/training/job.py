"""One training job's pieces, shared by a training run and by every tuning trial.

Data and preprocessing, the Ray Train trainer, and turning a checkpoint into a model and its
test metrics. What differs between learners is asked of the learner (``ray_apps.learners``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ray_apps.artifact import Model, ModelInfo
from ray_apps.data import TabularData, load_dataset
from ray_apps.metrics import classification_metrics, regression_metrics
from ray_apps.preprocess import Preprocessor
from ray_apps.spec import TrainJobSpec
from ray_apps.training.loop_config import LoopConfig


def prepare_data(spec: TrainJobSpec) -> tuple[TabularData, Preprocessor]:
    """Load and split the dataset, and fit the preprocessing the learner needs."""
    data = load_dataset(spec.dataset)
    pre = Preprocessor.fit(
        data.train,
        data.feature_names,
        data.label,
        data.classes,
        scale=spec.model.learner.standardises,
    )
    return data, pre


def tables(data: TabularData, pre: Preprocessor) -> dict[str, pd.DataFrame]:
    """The train and valid splits as the loops read them: preprocessed features + ``__y``."""
    out = {}
    for name, frame in (("train", data.train), ("valid", data.valid)):
        table = pd.DataFrame(pre.transform(frame), columns=pre.features)
        table["__y"] = pre.encode_label(frame[data.label])
        out[name] = table
    return out


def reported_metrics(spec: TrainJobSpec, data: TabularData) -> set[str]:
    """The metric names the loop reports every epoch / round (what a tuner may optimise)."""
    return spec.model.learner.reported_metrics(spec, data)


def build_trainer(spec: TrainJobSpec, config: LoopConfig, frames: dict, run_config):
    """A Ray Train trainer for ``spec``; its workers read their rows of ``frames``.

    The tables go into the object store once, and each rank takes its contiguous share
    (``RayTrainSession.frame``). Not Ray Data: the tables are in this process's memory already
    and every loop reads its share whole, and a Ray Data split cost 3–8 s a run here (its
    coordinator actors and a streaming execution per split) against ~0.1 s."""
    import ray
    import ray.train

    scaling = ray.train.ScalingConfig(
        num_workers=spec.scaling.workers,
        elastic_resize_monitor_interval_s=spec.scaling.elastic_resize_monitor_interval_s,
        use_gpu=spec.scaling.use_gpu,
        resources_per_worker=spec.scaling.resources_per_worker,
    )
    config = config.for_worker_group({name: ray.put(frame) for name, frame in frames.items()})
    return spec.model.learner.trainer(
        spec, config, scaling=scaling, run_config=run_config, datasets=None
    )


# Ray Train's own collectives (the barrier of every rank's ``ray.train.report``) wait this long
# for a peer; unset, without limit.
_COLLECTIVE_TIMEOUT_VAR = "RAY_TRAIN_COLLECTIVE_TIMEOUT_S"


def fit_trainer(trainer, spec: TrainJobSpec):
    """``trainer.fit()`` with ``failure.collective_timeout_s`` on Ray Train's own collectives too.

    The process group's timeout bounds the all-reduce; Ray Train's checkpoint barrier waits
    without limit by default. A peer frozen before its checkpoint report held the others there
    until the controller's worker health check gave up, 10 minutes later (a peer frozen in the
    all-reduce failed over after collective_timeout_s): seen as a hung node-loss test. Ray
    reads the variable from this process's environment when ``fit`` starts its controller,
    which hands it to the workers; a value the user set wins.
    """
    if _COLLECTIVE_TIMEOUT_VAR in os.environ:
        return trainer.fit()
    os.environ[_COLLECTIVE_TIMEOUT_VAR] = str(spec.failure.collective_timeout_s)
    try:
        return trainer.fit()
    finally:
        os.environ.pop(_COLLECTIVE_TIMEOUT_VAR, None)


def model_info(spec: TrainJobSpec, data: TabularData, pre: Preprocessor) -> ModelInfo:
    class_path, params = spec.model.learner.artifact_model(spec.model)
    return ModelInfo(
        kind=spec.model.kind,
        task=data.task,
        label=data.label,
        features=[{"name": f.name, "dtype": f.dtype} for f in data.features],
        classes=data.classes,
        preprocessor=pre,
        class_path=class_path,
        model_params=params,
    )


def model_from_checkpoint(
    spec: TrainJobSpec, data: TabularData, pre: Preprocessor, checkpoint
) -> Model:
    """The trained model in a Ray checkpoint its loop wrote."""
    info = model_info(spec, data, pre)
    with checkpoint.as_directory() as d:
        return Model(info, spec.model.learner.from_checkpoint(Path(d), info))


def evaluate(model: Model, frame: pd.DataFrame) -> dict[str, float]:
    """Test metrics of ``model`` on ``frame`` (which holds the label column)."""
    y = frame[model.info.label].to_numpy()
    if model.info.task == "classification":
        return classification_metrics(y, model.predict_proba(frame), model.info.classes)
    return regression_metrics(y, model.predict(frame))
