"""Pipelines: a DAG of raymaker jobs (train → evaluate → gate → register → deploy) from YAML.

    from pipelines import bind_parameters, load_pipeline, validate

    spec = load_pipeline("examples/pipeline_retrain.yaml")  # its shape; SpecError names the field
    graph = validate(spec)                                   # its meaning: kinds, references, order
    params = bind_parameters(spec, {"min_auc": "0.95"})      # --param min_auc=0.95, typed

Nothing here imports Ray: a pipeline is checked on a laptop before it is run on a cluster.
"""

from pipelines.graph import Graph, describe, validate
from pipelines.kinds import KINDS, StepKind
from pipelines.spec import PipelineSpec, StepSpec, bind_parameters, load_pipeline

__all__ = [
    "KINDS",
    "Graph",
    "PipelineSpec",
    "StepKind",
    "StepSpec",
    "bind_parameters",
    "describe",
    "load_pipeline",
    "validate",
]
