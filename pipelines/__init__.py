"""Pipelines: a DAG of raymaker jobs (train → evaluate → gate → register → deploy) from YAML.

    from pipelines import bind_parameters, load_pipeline, validate

    spec = load_pipeline("examples/pipeline_retrain.yaml")  # its shape; SpecError names the field
    graph = validate(spec)                                   # its meaning: kinds, references, order
    params = bind_parameters(spec, {"min_auc": "0.95"})      # --param min_auc=0.95, typed

    from pipelines import run_pipeline, resume_pipeline, pipeline_status

    run = run_pipeline(spec, params)          # steps as Ray tasks; the record under the storage
    resume_pipeline(run.run_id)               # a killed driver: finished steps are kept
    pipeline_status(run.run_id).steps["train"].state

Importing this package imports no Ray: a pipeline is checked on a laptop before it is run on a
cluster (the runner imports Ray when it starts the first step).
"""

from pipelines.graph import Graph, describe, validate
from pipelines.kinds import KINDS, StepKind
from pipelines.runner import pipeline_status, resume_pipeline, run_pipeline
from pipelines.spec import PipelineSpec, StepSpec, bind_parameters, load_pipeline
from pipelines.triggers import TriggerSpec, start_once

__all__ = [
    "KINDS",
    "Graph",
    "PipelineSpec",
    "StepKind",
    "StepSpec",
    "TriggerSpec",
    "bind_parameters",
    "describe",
    "load_pipeline",
    "pipeline_status",
    "resume_pipeline",
    "run_pipeline",
    "start_once",
    "validate",
]
