"""The one exception tree of raymaker.

    RaymakerError                 base; ``http_status`` 500, CLI exit 1
    ├── SpecError                 a job spec or argument is invalid          (400, exit 2)
    ├── DataError                 the data cannot be used as declared         (400, exit 2)
    ├── NotFoundError             a run, artifact, model or version is absent (404, exit 2)
    ├── ArtifactIntegrityError    an artifact fails its checksum manifest     (409, exit 1)
    ├── ApprovalError             a version is not approved / bad transition  (409, exit 2)
    ├── AuthenticationError       no or malformed API key                     (401, exit 2)
    ├── PermissionDeniedError     an API key that is not accepted             (403, exit 2)
    ├── PayloadTooLargeError      a request body over the endpoint's limit    (413, exit 2)
    ├── QueueFullError            the async request queue is at its limit     (429, exit 1)
    └── TrainingError             the training run failed after its retries   (500, exit 1)
        └── StoppedByRule         a health rule stopped the run (its checkpoint kept) (exit 3)

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


class ApprovalError(RaymakerError):
    """A model version is not approved for what was asked, or cannot move to that status."""

    http_status = 409
    exit_code = 2


class AuthenticationError(RaymakerError):
    """A request carries no API key, or not as ``Authorization: Bearer <key>``."""

    http_status = 401
    exit_code = 2


class PermissionDeniedError(RaymakerError):
    """A request's API key is not one the endpoint accepts."""

    http_status = 403
    exit_code = 2


class PayloadTooLargeError(RaymakerError):
    """A request body is larger than the endpoint's ``max_body_bytes``."""

    http_status = 413
    exit_code = 2


class QueueFullError(RaymakerError):
    """The asynchronous request queue holds its maximum; ``retry_after_s`` says when to retry."""

    http_status = 429

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TrainingError(RaymakerError, RuntimeError):
    """A training run failed and its failure policy allowed no more restarts."""


class StoppedByRule(TrainingError):
    """A training health rule with action ``stop`` ended the run; nothing was packaged.

    The run's last good checkpoint is kept: fix the job, then ``raymaker train --config
    <fixed.yaml> --resume <run>`` continues from it. Exit 3 tells a script "stopped on
    purpose" apart from a crash (1)."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        run: str,
        rule: str,
        epoch: int,
        value: float | None,
        checkpoint_epoch: int | None,
    ):
        super().__init__(message)
        self.run, self.rule, self.epoch, self.value = run, rule, epoch, value
        self.checkpoint_epoch = checkpoint_epoch
