"""The one exception tree of raymaker.

    RaymakerError                 base; ``http_status`` 500, CLI exit 1
    ├── SpecError                 a job spec or argument is invalid          (400, exit 2)
    ├── DataError                 the data cannot be used as declared         (400, exit 2)
    ├── NotFoundError             a run, artifact, model or version is absent (404, exit 2)
    ├── ArtifactIntegrityError    an artifact fails its checksum manifest     (409, exit 1)
    └── TrainingError             the training run failed after its retries   (500, exit 1)

Every message names the bad value, what was allowed, and how to fix it. The CLI prints the
message on one line and exits with ``exit_code``; HTTP handlers answer ``http_status``.
"""

from __future__ import annotations


class RaymakerError(Exception):
    """Base of every error raymaker raises on purpose."""

    http_status = 500
    exit_code = 1


class SpecError(RaymakerError, ValueError):
    """A job spec, CLI option or request field is invalid."""

    http_status = 400
    exit_code = 2


class DataError(RaymakerError, ValueError):
    """The dataset is missing, empty, or does not fit the declared label and features."""

    http_status = 400
    exit_code = 2


class NotFoundError(RaymakerError, LookupError):
    """A named run, artifact, model or version does not exist."""

    http_status = 404
    exit_code = 2


class ArtifactIntegrityError(RaymakerError):
    """An artifact's files do not match its checksum manifest."""

    http_status = 409


class TrainingError(RaymakerError, RuntimeError):
    """A training run failed and its failure policy allowed no more restarts."""
