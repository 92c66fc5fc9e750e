"""What of Ray's own output reaches the user's console.

Ray streams every worker's stdout/stderr to the driver and logs its own progress at INFO. On a
raymaker run most of it is internal and nothing a user can act on; measured on ``make demo``
(527 lines, 159 with ANSI colour codes even when piped to a file): Ray Data's per-dataset plan
lines, a deprecation warning Ray Data raises against itself, the Serve controller's banner, the
raylet's "graceful_shutdown failed … killed by ray.kill" on every ``serve.shutdown``, Tune's
"Checkpoint successfully created" per trial, XGBoost's rank handshake and native ``[bt]`` frames.

``is_noise`` decides line by line (a pure function, tested on the lines above); ``quiet_ray``
installs it: Ray's driver loggers drop INFO, and the worker-log printer drops noise, prints
raymaker's own ``[raymaker] …`` lines without Ray's ``(Worker pid=…)`` prefix, and adds no
colour codes when stdout is not a terminal. Warnings, errors and tracebacks still show.
``RAYMAKER_RAY_OUTPUT=all`` keeps everything, for debugging Ray itself.
"""

from __future__ import annotations

import logging
import os
import re
import sys

OURS = "[raymaker]"

# Each pattern: what it is, and why nobody can act on it.
_NOISE = re.compile(
    "|".join(
        [
            # Ray Data narrating each tiny split it plans and runs for Train's workers.
            r"Starting execution of Dataset",
            r"Execution plan of Dataset",
            r"Progress bars disabled\. To enable",
            r"Dataset \S+ execution finished in",
            r"Registered dataset logger",
            # Ray Data warns about its own use of a deprecated option (DatasetManager), and the
            # warnings module echoes the offending source line after it.
            r"ExecutionOptions\.exclude_resources` is deprecated",
            r"^\s*self\.exclude_resources = exclude_resources",
            # Ray logs at ERROR, for any restartable actor (Train's PreemptionWatcher, a batch
            # job's scorer pool), that its constructor arguments live in the object store.
            r"has constructor arguments in the object store and max_restarts > 0",
            # XGBoost's collective handshake and the native frames of a peer we killed on purpose.
            r"Task \[xgboost\.ray-rank=\d+\]:\S+ got rank",
            r"^\s*\[bt\] \(\d+\) ",
            r"the RabitTracker thread failed to join",
            # Tune: one line per saved trial checkpoint (with a 200-character path), and the
            # experiment-state write it does every second.
            r"Checkpoint successfully created at: Checkpoint\(",
            r"Wrote the latest version of all result files",
            # Serve: the controller's start-up banner (a header and one bullet per option) and a
            # shutdown race inside serve.shutdown() that Ray retries by itself.
            r"Throughput optimized Ray Serve enabled with the following configurations",
            r"^\s*• (Direct ingress|gRPC communication|User code running|Router running|"
            r"Log to stderr|Garbage collector|Request path log buffer)",
            r"Task ServeController\.graceful_shutdown failed",
            # Serve's controller and proxies narrate at INFO (each app deployed, replica added or
            # stopped, route table pushed); on the plain proxy they log to stderr, which Ray
            # streams to the driver: a notebook's deploy cell got 9 such lines. Their log files
            # in the session folder keep them; warnings and errors still show.
            r"^(\(\w+ pid=\d+\) )?INFO \S+ \S+ (controller|proxy) \S+ -- ",
            # Local clusters turn token auth on by default: the secure setting raymaker wants.
            r"Token authentication is enabled for this Ray cluster",
            # ray.init's own banner (raymaker prints the dashboard address itself), and Tune's
            # hint to point TensorBoard into Ray's temporary session folder, deleted with it.
            r"Started a local Ray instance\.",
            r"To visualize your results with TensorBoard",
            # dmlc's header above the native frames dropped above.
            r"^\s*Stack trace:\s*$",
            # Ray's log deduplication footer on a line that is noise anyway.
            r"^\s*\[repeated \d+x across cluster\]",
        ]
    )
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Ray appends this once, in green, to the first line it deduplicates: advice about Ray's own
# settings, not about the user's job.
_DEDUP_HINT = re.compile(r" \(Ray deduplicates logs by default\..*?for more options\.\)")


def is_noise(line: str) -> bool:
    """Whether a line of Ray's output is internal noise (colour codes ignored)."""
    return bool(_NOISE.search(_ANSI.sub("", line)))


def clean_line(line: str, colour: bool) -> str:
    """A kept line as printed: Ray's dedup advice dropped, and its colour codes too unless
    the output is a terminal (Ray colours its "[repeated Nx across cluster]" suffix itself)."""
    line = _DEDUP_HINT.sub("", line)
    return line if colour else _ANSI.sub("", line)


# Multi-line reports dropped whole: (first line starts with, a later line holds, the block's
# last line holds), the second within _BLOCK_SPAN lines of the first.
_BLOCKS = (
    # The interpreter's report when Ray SIGTERMs an idle actor at the end of a run (seen on
    # Tune's reused trial actors): a traceback of Ray's own shutdown.
    ("Exception ignored in:", "sigterm_handler", "SystemExit"),
    # Ray Train's traceback of a preflight check that failed on purpose: the driver prints the
    # finding, with the worker, node and fix, in one line.
    ("Error in training function:", "RuntimeError: PREFLIGHT ", "RuntimeError: PREFLIGHT "),
    # Train's controller on a busy machine: its autoscaling-coordinator request timed out, which
    # Ray's own message calls safe to ignore; it retries by itself (seen on 2 loaded cores).
    ("Failed to send resource request for train-", "GetTimeoutError", "GetTimeoutError"),
)
_BLOCK_SPAN = 40


def keep_lines(lines: list[str]) -> list[str]:
    """The lines of one batch of a worker's output worth showing, in order.

    Besides noise lines this drops blank lines (Ray prints each with its process prefix) and
    the multi-line reports in ``_BLOCKS``.
    """
    kept, until = [], None
    for i, line in enumerate(lines):
        if until is None:
            for first, inside, last in _BLOCKS:
                window = lines[i : i + _BLOCK_SPAN]
                if line.startswith(first) and any(inside in later for later in window):
                    until = last
                    break
        if until is not None:
            if until in line:
                until = None
            continue
        if line.strip() and not is_noise(line):
            kept.append(line)
    return kept


def quiet_ray() -> None:
    """Install the filters for this driver; call before ``ray.init`` (and again is harmless)."""
    if os.environ.get("RAYMAKER_RAY_OUTPUT") == "all":
        return
    if not sys.stdout.isatty():
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # Ray colours worker prefixes otherwise
    import ray  # noqa: F401  (configures the "ray" logger and its handler)

    # INFO from Ray's driver side is its own narration ("Started a local Ray instance", Serve's
    # "Deleting app", Tune's state writes); raymaker prints what a user needs itself.
    _quiet_loggers()


def filter_worker_output() -> None:
    """Replace Ray's worker-log printer with one that drops noise; call after ``ray.init``."""
    if os.environ.get("RAYMAKER_RAY_OUTPUT") == "all":
        return
    from ray._private import worker as ray_worker
    from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher

    _quiet_loggers()  # ray.init reset their levels, and Ray Data has handlers of its own
    original = getattr(ray_worker.print_to_stdstream, "__wrapped__", ray_worker.print_to_stdstream)

    def print_filtered(data: dict, ignore_prefix: bool = False) -> None:
        lines = keep_lines(data.get("lines", []))
        ours = [line for line in lines if line.startswith(OURS)]
        theirs = [line for line in lines if not line.startswith(OURS)]
        if ours:  # raymaker's progress lines need no "(RayTrainWorker pid=…)" prefix
            original({**data, "lines": ours}, ignore_prefix=True)
        if theirs:
            original({**data, "lines": theirs}, ignore_prefix=ignore_prefix)

    print_filtered.__wrapped__ = original
    # Ray deduplicates after the filter above and writes its "[repeated Nx across cluster]"
    # suffix (and, once, its advice) in colour: clean every printed batch, including the ones
    # Ray flushes at disconnect, at the last step.
    printer = getattr(ray_worker.print_worker_logs, "__wrapped__", ray_worker.print_worker_logs)

    def print_clean(data: dict, print_file, ignore_prefix: bool = False) -> None:
        colour = hasattr(print_file, "isatty") and print_file.isatty()
        lines = [clean_line(line, colour) for line in data.get("lines", [])]
        printer({**data, "lines": lines}, print_file, ignore_prefix)

    print_clean.__wrapped__ = printer
    ray_worker.print_worker_logs = print_clean
    # Ray 2.60 prints worker output through the handler it registers under this name in
    # ray._private.worker.connect, and the raylet's error messages (listen_error_messages)
    # through the module's print_to_stdstream: both now pass through the filter.
    ray_worker.print_to_stdstream = print_filtered
    dispatcher.remove_handler("ray_print_logs")
    dispatcher.add_handler("ray_print_logs", print_filtered)


def _quiet_loggers() -> None:
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        for handler in logger.handlers:
            if not any(isinstance(f, _NoiseFilter) for f in handler.filters):
                handler.addFilter(_NoiseFilter())


_LOGGERS = ("ray", "ray.serve", "ray.tune", "ray.train", "ray.data")


class _NoiseFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not is_noise(record.getMessage())
