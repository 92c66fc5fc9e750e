"""Which of Ray's lines reach the user's console: real lines from a `make demo` log."""

import pytest

from ray_apps._ray_output import clean_line, is_noise, keep_lines

NOISE = [
    "Starting execution of Dataset train_0353BfHpYt0muW391c2GY1_0. Full logs are in "
    "/tmp/ray/session_2026-11-24_14-23-23_873565_5758/logs/ray-data",
    "Execution plan of Dataset train_0353BfHpYt0muW391c2GY1_0: InputDataBuffer[Input] -> "
    "OutputSplitter[split(2, equal=True)]",
    "Progress bars disabled. To enable, set "
    "`ray.data.DataContext.get_current().enable_progress_bars = True`.",
    "\u2714\ufe0f  Dataset train_0353BfHpYt0muW391c2GY1_0 execution finished in 0.24 seconds",
    "/x/ray/data/_internal/execution/interfaces/execution_options.py:436: "
    "RayDeprecationWarning: `ExecutionOptions.exclude_resources` is deprecated and will be "
    "removed",
    "  self.exclude_resources = exclude_resources",
    "[2026-11-24 14:23:44,631 E 6369 6456] core_worker.cc:2465: Actor with class name: "
    "'PreemptionWatcher' and ID: '40133ed53ff0dce06967fa2901000000' has constructor arguments "
    "in the object store and max_restarts > 0. If the arguments in the object store go out of "
    "scope or are lost, the actor restart will fail.",
    "[2026-11-24 16:28:25,331 E 7476 7476] core_worker.cc:2465: Actor with class name: "
    "'MapWorker(MapBatches(UnitScorer))' and ID: '52ec1601dea2c05007b774ad01000000' has "
    "constructor arguments in the object store and max_restarts > 0. If the arguments in the "
    "object store go out of scope or are lost, the actor restart will fail.",
    "[14:24:23] Task [xgboost.ray-rank=00000000]:73769cb31d6c2258c7d2f97f01000000 got rank 0",
    "  [bt] (0) /x/xgboost/lib/libxgboost.so(+0x11031e) [0x7fe23751031e]",
    "During shutdown, the RabitTracker thread failed to join within 5 seconds. The process "
    "will still be terminated as part of Ray actor cleanup.",
    "Checkpoint successfully created at: Checkpoint(filesystem=local, path=/x/runs/t/"
    "run_trial_165b9728_6_hyperparameters_params_eta=0.4131/checkpoint_000004)",
    "2026-11-24 14:25:09,308\tINFO tune.py:1007 -- Wrote the latest version of all result "
    "files and experiment state to '/x/runs/t' in 0.0129s.",
    "INFO 2026-11-24 14:25:13,945 serve 9353 -- Throughput optimized Ray Serve enabled with "
    "the following configurations:",
    "  \u2022 Direct ingress enabled",
    "  \u2022 Garbage collector is frozen on startup",
    "Task ServeController.graceful_shutdown failed. There are infinite retries remaining, so "
    "the task will be retried. Error: The actor is dead because it was killed by `ray.kill`.",
    "INFO 2026-12-03 16:47:58,223 proxy 192.0.2.2 -- Proxy starting on node 9a31abc065ede3 "
    "(HTTP port: 8000).",
    "INFO 2026-12-03 16:47:58,473 controller 12209 -- Deploying new version of "
    "Deployment(name='endpoint', app='quickstart') (initial target replicas: 1).",
    "\x1b[36m(ServeController pid=12209)\x1b[0m INFO 2026-12-03 16:48:28,653 controller 12209 -- "
    "Replica(id='5nfup0ie', deployment='endpoint', app='quickstart') is stopped.",
    "Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt "
    "out. For more information, see https://docs.ray.io/en/latest/ray-security/token-auth.html",
    "\x1b[36m(SplitCoordinator pid=7063)\x1b[0m Execution plan of Dataset valid_0: x -> y",
]

KEPT = [
    "[raymaker] epoch 1/12 train_loss=0.5845 val_loss=0.4547 val_accuracy=0.9286",
    "[raymaker] resumed from checkpoint: continuing at round 21",
    "Error in training function:",
    "Traceback (most recent call last):",
    "ray_apps.training.faults.InjectedFault: injected fault at epoch 4 on rank 0",
    "xgboost.core.XGBoostError: [14:24:34] /workspace/src/collective/result.cc:83: "
    "Ring Allreduce failed.",
    "A worker died or was killed while executing a task by an unexpected system error.",
    "ValueError: Dataset column 'age' holds strings; encode it first",
    "loss is nan at step 3",
    "WARNING 2026-11-24 14:25:13,945 serve 9353 -- Replica failed its health check",
    "WARNING 2026-12-03 16:47:58,473 controller 12209 -- Deployment 'endpoint' in application "
    "'quickstart' has 1 replicas that have taken more than 30s to be scheduled.",
    "ERROR 2026-12-03 16:47:58,223 proxy 192.0.2.2 -- Proxy failed to start",
    "INFO 2026-12-03 16:47:58,223 quickstart_endpoint 5nfup0ie -- scored 5 rows",
]


@pytest.mark.parametrize("line", NOISE)
def test_internal_lines_are_noise(line):
    assert is_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_progress_errors_and_user_lines_are_kept(line):
    assert not is_noise(line)


def test_actor_teardown_report_and_blank_lines_are_dropped_in_order():
    batch = [
        "[raymaker] round 5/40 valid_logloss=0.31",
        "",
        "Exception ignored in: <function WeakSet.__init__.<locals>._remove at 0x7fdada392480>",
        "Traceback (most recent call last):",
        '  File "/x/lib/python3.11/_weakrefset.py", line 39, in _remove',
        "    def _remove(item, selfref=ref(self)):",
        "",
        '  File "/x/ray/_private/worker.py", line 1063, in sigterm_handler',
        "    raise_sys_exit_with_custom_error_message(",
        "SystemExit: 1",
        "Traceback (most recent call last):",
        "ValueError: a user's error",
    ]
    assert keep_lines(batch) == [
        "[raymaker] round 5/40 valid_logloss=0.31",
        "Traceback (most recent call last):",
        "ValueError: a user's error",
    ]


def test_a_failed_preflight_checks_traceback_is_dropped_a_training_error_is_kept():
    # As Ray Train's worker printed them when preflight's all-reduce timed out (the driver
    # prints the finding itself, naming the worker that did not answer).
    preflight = [
        "Error in training function:",
        "Traceback (most recent call last):",
        '  File "/x/ray_apps/training/preflight.py", line 327, in _check_worker',
        '    raise RuntimeError(f"PREFLIGHT all-reduce {where}: {err}") from None',
        "RuntimeError: PREFLIGHT all-reduce rank 0 on node 10.0.0.2: Timed out waiting 20000ms",
        "[raymaker] a line after it",
    ]
    assert keep_lines(preflight) == ["[raymaker] a line after it"]
    training = ["Error in training function:", "Traceback (most recent call last):"]
    training += ["ValueError: a user's error"]
    assert keep_lines(training) == training


def test_trains_resource_request_timeout_on_a_busy_machine_is_dropped():
    # As a Train controller printed it under a load average of 15 (Ray: "safe to ignore").
    batch = [
        "Failed to send resource request for train-7d1139b4. If this only happens transiently "
        "during network partition or CPU being overloaded, it's safe to ignore this error.",
        "Traceback (most recent call last):",
        '  File "/x/ray/_private/worker.py", line 1007, in get_objects',
        "ray.exceptions.GetTimeoutError: Get timed out: some object(s) not ready.",
        "[raymaker] epoch 3/10",
    ]
    assert keep_lines(batch) == ["[raymaker] epoch 3/10"]


def test_an_ignored_exception_that_is_not_ray_teardown_is_kept():
    batch = ["Exception ignored in: <generator object f>", "RuntimeError: boom"]
    assert keep_lines(batch) == batch


# As Ray 2.60's LogDeduplicator formats the first line it folds (seen in a CI log).
DEDUPED = (
    "XGBoost stopped after 50 rounds.\x1b[32m [repeated 2x across cluster] (Ray deduplicates "
    "logs by default. Set RAY_DEDUP_LOGS=0 to disable log deduplication, or see https://docs."
    "ray.io/en/master/ray-observability/user-guides/configure-logging.html#log-deduplication "
    "for more options.)\x1b[0m"
)


def test_dedup_advice_is_dropped_and_colour_only_on_a_terminal():
    assert clean_line(DEDUPED, colour=False) == (
        "XGBoost stopped after 50 rounds. [repeated 2x across cluster]"
    )
    assert clean_line(DEDUPED, colour=True) == (
        "XGBoost stopped after 50 rounds.\x1b[32m [repeated 2x across cluster]\x1b[0m"
    )
    assert clean_line("a user's own line", colour=False) == "a user's own line"
