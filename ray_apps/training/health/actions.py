"""What a fired health rule does, on rank 0 only: the console line, the run log, MLflow tags,
the webhook. The decision is ``watch.decide``'s; nothing here decides.

Every fired rule prints one line, whatever its actions (a rule is never silent):

    [raymaker] health: nonfinite fired at epoch 3: train_loss is nan at epoch 3 → stop
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray_apps.training.health.watch import Verdict

if TYPE_CHECKING:
    from ray_apps.training.health.spec import HealthSpec
    from ray_apps.training.run_log import RunLog
    from ray_apps.training.tracking_sink import MetricSink

STOP_TAG = "raymaker.stopped_by_rule"


def act(
    verdict: Verdict,
    epoch: int,
    *,
    spec: HealthSpec,
    run_log: RunLog,
    sink: MetricSink,
    unit: str = "epoch",
) -> None:
    """Carry out ``verdict``'s actions for ``epoch``."""
    for fired in verdict.fired:
        f = fired.finding
        print(
            f"[raymaker] health: {fired.rule} fired at {unit} {epoch}: {f.message} "
            f"→ {', '.join(fired.actions)}",
            flush=True,
        )
        record = fired.to_dict()
        if "tag" in fired.actions:
            sink.tag(f"health.{fired.rule}", f"{unit} {epoch}: {_value(f.value)}")
        if "alert" in fired.actions and spec.webhook is not None:
            record["alert"] = _alert(spec, run_log, record, epoch)
        run_log.health_fired(epoch, record)
    stop = verdict.stop
    if stop is None:
        return
    checkpoint = run_log.last_checkpoint()
    kept = checkpoint["epoch"] if checkpoint else None
    run_log.stopped_by_rule({**stop.to_dict(), "epoch": epoch, "checkpoint_epoch": kept})
    sink.tag(STOP_TAG, f"{stop.rule} at {unit} {epoch}: {stop.finding.message}")
    kept_line = f"its last good checkpoint is {unit} {kept}" if kept else "no checkpoint was kept"
    print(
        f"[raymaker] health: run stopped by rule {stop.rule} at {unit} {epoch}; {kept_line}",
        flush=True,
    )


def _alert(spec: HealthSpec, run_log: RunLog, record: dict[str, Any], epoch: int) -> dict:
    from ray_apps.webhook import post_webhook, webhook_secret, webhook_url

    hook = spec.webhook
    payload = {
        "kind": "training_health",
        "run": run_log.run_dir.rsplit("/", 1)[-1],
        "run_dir": run_log.run_dir,
        **record,
        "epoch": epoch,
    }
    try:
        url, secret = webhook_url(hook, "health.webhook"), webhook_secret(hook, "health.webhook")
    except Exception as err:  # the run's driver checked them; a worker may lack the variables
        print(f"[raymaker] health: alert not sent: {err}", flush=True)
        return {"delivered": False, "error": str(err)}
    delivery = post_webhook(url, payload, hook, secret=secret)
    if not delivery.delivered:
        print(
            f"[raymaker] health: alert to {delivery.host} not delivered after "
            f"{delivery.attempts} attempt(s): {delivery.error}",
            flush=True,
        )
    return delivery.__dict__


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"
