"""Per-chapter progress for a render that the core reports book-wide.

The core's synthesis runs lines out of order across a process pool and reports only
totals, so each chapter's share is read from the audio cache itself: a line is done when
its content-addressed entry exists (entries are written atomically).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from audiobook.cast import Casting
from audiobook.model import Script
from audiobook.progress import Progress
from audiobook.render import speech_jobs
from audiobook.synth import AudioCache, default_cache_dir, job_keys

SYNTH_SHARE = 0.9  # of a chapter's bar; encoding the MP3 is the rest


class ChapterTracker:
    def __init__(
        self,
        script: Script,
        casting: Casting,
        engine: str,
        cache_dir: Path | None,
        chapters: set[int] | None,
    ) -> None:
        self.cache = AudioCache(cache_dir or default_cache_dir())
        self.wanted = [c.index for c in script.chapters if chapters is None or c.index in chapters]
        self.positions = {c.index: n for n, c in enumerate(script.chapters)}
        self.total: dict[int, int] = defaultdict(int)
        self.done: dict[int, int] = defaultdict(int)
        self.pending: dict[str, list[tuple[int, int]]] = defaultdict(list)
        jobs = [
            (script.segments[i].chapter, job)
            for i, job in speech_jobs(script, casting).items()
            if script.segments[i].chapter in self.wanted
        ]
        # job_keys, not job_key per line: it reads each voice's files once, not per line.
        for (ch, job), key in zip(jobs, job_keys([j for _, j in jobs], engine), strict=True):
            self.pending[key].append((ch, len(job.text)))
            self.total[ch] += len(job.text)
        self.exported: set[int] = set()
        self.synth_fraction = 0.0
        self.export_fraction = 0.0
        self.eta: float | None = None
        self.detail = ""
        self._last_poll = 0.0

    def poll(self, force: bool = False, every: float = 0.2) -> None:
        """Look in the cache for lines finished since the last look (rate-limited)."""
        now = time.monotonic()
        if not force and now - self._last_poll < every:
            return
        self._last_poll = now
        for key in [k for k in self.pending if self.cache.path(k).exists()]:
            for ch, chars in self.pending.pop(key):
                self.done[ch] += chars

    def update(self, p: Progress) -> None:
        self.detail = p.detail
        self.eta = p.eta
        if p.stage == "synthesise":
            self.synth_fraction = p.fraction
            self.poll(force=p.done >= p.total)
        elif p.stage == "export":
            self.synth_fraction = 1.0
            self.poll(force=True)
            # ``done`` counts chapters of the whole book before the one being encoded.
            self.exported |= {ch for ch in self.wanted if self.positions[ch] < p.done}
            self.export_fraction = len(self.exported) / max(1, len(self.wanted))
        elif p.stage == "done":
            self.synth_fraction = 1.0
            self.exported = set(self.wanted)
            self.export_fraction = 1.0
            self.pending.clear()
            self.done.update(self.total)

    def chapter_fraction(self, ch: int) -> float:
        synth = self.done[ch] / self.total[ch] if self.total[ch] else 1.0
        return SYNTH_SHARE * min(1.0, synth) + (1 - SYNTH_SHARE) * (ch in self.exported)

    @property
    def overall(self) -> float:
        return SYNTH_SHARE * self.synth_fraction + (1 - SYNTH_SHARE) * self.export_fraction
