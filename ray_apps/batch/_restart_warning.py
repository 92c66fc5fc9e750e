"""Ray's one-time warning about actor restarts, spent where nobody sees it.

Seen in ``make demo``'s batch step, on the driver's stderr: ``core_worker.cc:… Actor with class
name: 'MapWorker(MapBatches(UnitScorer))' … has constructor arguments in the object store and
max_restarts > 0. If the arguments in the object store go out of scope or are lost, the actor
restart will fail.`` The cause is Ray Data's, not the size of our arguments: its actor pool
(2.60, ``ActorPoolMapOperator._start_actor``) always ``ray.put``s the map transformer (our
``UnitScorer`` with its ``ScorerConfig``) and the ``DataContext`` and hands each actor those
ObjectRefs, and the core worker warns for any actor created with an ObjectRef argument and
``max_restarts != 0`` (Ray Data's own default, -1, warns too). Restarts are what the job needs
(a unit whose worker dies is retried on its restarted actor), and the risk the warning names
does not arise: the operator holds both refs for as long as the dataset runs (the injected-kill
test restarts an actor). The line is glog's, written by C++ to file descriptor 2 once per
process, out of reach of Python's logging and of our worker-output filters.

So ``spend()`` uses up that once: it creates a throwaway actor the same way (an ObjectRef
argument, ``max_restarts=1``) while descriptor 2 points at /dev/null, for the few milliseconds
of the ``.remote()`` call, and kills it at once. Measured: ~0.2 s, mostly the kill waiting for
the actor's registration; no worker process is left. Anything else this process writes to
stderr in that window is lost too.
"""

from __future__ import annotations

import os
import sys

_spent = False


class _Throwaway:
    def __init__(self, _ref) -> None:
        pass


def spend() -> None:
    """Trigger the core worker's warning once, unseen; later actors then create quietly."""
    global _spent
    if _spent:
        return
    import ray

    actor_class = ray.remote(num_cpus=0, max_restarts=1)(_Throwaway)
    ref = ray.put(None)
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        actor = actor_class.remote(ref)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    ray.kill(actor)
    _spent = True
