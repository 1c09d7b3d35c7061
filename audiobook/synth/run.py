"""The synthesis entry point: jobs in, their keys back, their audio in the cache."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from audiobook.synth.backend import Backend
from audiobook.synth.cache import AudioCache
from audiobook.synth.jobs import FollowUp, SynthJob, SynthProgress, job_keys
from audiobook.synth.local import LocalPool
from audiobook.synth.plan import Plan


def synthesize(
    jobs: Sequence[SynthJob],
    *,
    engine: str = "piper",
    cache: AudioCache,
    workers: int = 1,
    backend: Backend | None = None,
    on_progress: Callable[[SynthProgress], None] | None = None,
    cancel: threading.Event | None = None,
    followups: Sequence[FollowUp] = (),
    on_followup: Callable[[int, Any], None] | None = None,
    keys: Sequence[str] | None = None,
) -> list[str]:
    """Make sure every job's audio is in ``cache``; return the keys in job order.

    ``backend`` runs it (default: a local pool of ``workers`` processes). Duplicate
    jobs are synthesized once; progress counts distinct jobs, and cached ones count as
    done (and as hits) from the first report on. Each follow-up runs once all its jobs
    are cached; ``on_followup(i, result)`` gets its result in this thread, and this
    returns only after every follow-up has run.
    """
    plan = Plan.make(
        jobs,
        list(keys) if keys is not None else job_keys(jobs, engine),
        engine=engine,
        cache=cache,
        followups=followups,
        on_progress=on_progress,
        on_followup=on_followup,
        cancel=cancel,
    )
    plan.start()
    if not plan.idle:
        (backend or LocalPool(workers)).run(plan)
    return plan.keys
