"""Ray's HyperBandScheduler with brackets that also stop a trial caught mid-pause.

Ray 2.60's ``_Bracket.cleanup_full`` stops only trials whose status is already PAUSED. A trial
told to PAUSE is first checkpointed and stays RUNNING with ``is_saving`` set until the save
resolves; if the bracket's last trial finishes in that window, the pausing trial is neither
stopped nor resumed, and the tuning job waits forever (seen in CI and reproduced: one trial
PAUSED at max_t, none running, Tune warning about resources every minute). Ray's own halving
step already treats ``PAUSED or is_saving`` as paused; this applies the same rule when a
bracket finishes. Module-level classes, so a saved experiment unpickles them by name.
"""

from __future__ import annotations

from ray.tune.schedulers.hyperband import HyperBandScheduler, _Bracket


def must_stop_when_bracket_finishes(status: str, is_saving: bool) -> bool:
    """A finished bracket stops a trial that is paused or pausing: nothing would resume it."""
    return status == "PAUSED" or (status == "RUNNING" and is_saving)


class FinishingBracket(_Bracket):
    def cleanup_full(self, tune_controller) -> None:
        for trial in self.current_trials():
            if must_stop_when_bracket_finishes(trial.status, trial.is_saving):
                tune_controller.stop_trial(trial)


class FinishingHyperBand(HyperBandScheduler):
    def _create_bracket(self, s: int) -> FinishingBracket:
        return FinishingBracket(
            time_attr=self._time_attr,
            max_trials=self._get_n0(s),
            init_t_attr=self._get_r0(s),
            max_t_attr=self._max_t_attr,
            eta=self._eta,
            s=s,
            stop_last_trials=self._stop_last_trials,
        )
