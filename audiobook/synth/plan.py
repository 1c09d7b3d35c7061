"""One synthesis call's bookkeeping, the same whichever backend runs it: which lines
are still to make (each distinct line once), progress, which follow-ups wait for which
lines, the order to make them in, and cutting that order into tasks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from audiobook.errors import Cancelled
from audiobook.synth.cache import AudioCache
from audiobook.synth.jobs import FollowUp, SynthJob, SynthProgress, speech_seconds

Task = list[tuple[str, SynthJob]]  # (key, job) made one after the other


@dataclass
class Plan:
    """Lines already cached count as done (and as hits) from the first report on."""

    keys: list[str]  # of every job, in job order
    engine: str
    cache: AudioCache
    followups: Sequence[FollowUp] = ()
    on_progress: Callable[[SynthProgress], None] | None = None
    on_followup: Callable[[int, Any], None] | None = None
    cancel: threading.Event | None = None
    unique: dict[str, SynthJob] = field(default_factory=dict)
    pending: dict[str, SynthJob] = field(default_factory=dict)  # not cached yet
    # follow-up -> the keys it still waits for
    waiting: dict[int, set[str]] = field(default_factory=dict)
    progress: SynthProgress = field(default_factory=lambda: SynthProgress(0, 0, 0, 0, 0))

    @classmethod
    def make(cls, jobs: Sequence[SynthJob], keys: list[str], **kwargs: Any) -> Plan:
        plan = cls(keys, **kwargs)
        for key, job in zip(keys, jobs, strict=True):
            plan.unique.setdefault(key, job)
        plan.pending = {k: j for k, j in plan.unique.items() if not plan.cache.has(k, touch=True)}
        hits = len(plan.unique) - len(plan.pending)
        total = sum(len(j.text) for j in plan.unique.values())
        plan.progress = SynthProgress(
            done_chars=total - sum(len(j.text) for j in plan.pending.values()),
            total_chars=total,
            done_jobs=hits,
            total_jobs=len(plan.unique),
            cache_hits=hits,
        )
        plan.waiting = {
            n: {keys[i] for i in fu.needs if keys[i] in plan.pending}
            for n, fu in enumerate(plan.followups)
        }
        return plan

    @property
    def idle(self) -> bool:
        """Nothing to synthesise and nothing to follow up."""
        return not self.pending and not self.followups

    def start(self) -> None:
        """The first report (what the cache already holds), then a cancel check."""
        cached = tuple(k for k in self.unique if k not in self.pending)
        self._report(cached)
        self.check_cancel()

    def ready(self) -> list[int]:
        """Follow-ups whose lines were all cached before synthesis started."""
        return [n for n, missing in self.waiting.items() if not missing]

    def cached(self, keys: Sequence[str]) -> list[int]:
        """Note lines just made: report them and return the follow-ups now ready."""
        for key in keys:
            self.progress.done_jobs += 1
            self.progress.done_chars += len(self.unique[key].text)
        self._report(tuple(keys))
        ready = []
        for n, missing in self.waiting.items():
            if missing:
                missing.difference_update(keys)
                if not missing:
                    ready.append(n)
        return ready

    def _report(self, finished: tuple[str, ...]) -> None:
        if self.on_progress is not None:
            self.on_progress(SynthProgress(**{**vars(self.progress), "finished": finished}))

    def followed(self, n: int, result: Any) -> None:
        """Follow-up ``n`` ran and returned ``result``."""
        if self.on_followup is not None:
            self.on_followup(n, result)

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def queue(self, *, together: int = 1, longest_first: bool = False) -> Task:
        """Pending jobs follow-up by follow-up (so the first chapters finish, and are
        encoded, while later ones are synthesised), then the rest. ``longest_first``
        within each group; the last ``together`` follow-ups' jobs form one group, so
        those become ready at about the same time and run side by side (one alone at
        the end would leave workers idle)."""
        groups: list[list[str]] = []
        seen: set[str] = set()
        for fu in self.followups:
            group = [k for k in dict.fromkeys(self.keys[i] for i in fu.needs) if k in self.pending]
            group = [k for k in group if k not in seen]
            if group:
                groups.append(group)
                seen.update(group)
        if len(groups) > 1 and together > 1:
            groups[-together:] = [[k for g in groups[-together:] for k in g]]
        groups.append([k for k in self.pending if k not in seen])
        queue: Task = []
        for group in groups:
            if longest_first:
                group = sorted(group, key=lambda k: -speech_seconds(self.pending[k]))
            queue += [(k, self.pending[k]) for k in group]
        return queue


def cut(queue: Task, cap: Callable[[float], float], max_jobs: int = 0) -> list[Task]:
    """Consecutive jobs grouped into tasks while their speech fits ``cap(left)`` (left:
    the seconds of speech still to come, this job's included) and, with ``max_jobs``,
    their number does."""
    out: list[Task] = []
    cost = 0.0
    left = sum(speech_seconds(j) for _, j in queue)
    for kj in queue:
        c = speech_seconds(kj[1])
        limit = cap(left)
        left -= c
        fits = not max_jobs or len(out[-1] if out else ()) < max_jobs
        if out and cost + c <= limit and fits:
            out[-1].append(kj)
            cost += c
        else:
            out.append([kj])
            cost = c
    return out
