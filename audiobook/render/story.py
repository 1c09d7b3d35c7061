"""A story being rendered, as the MP3 and M4B writers see it: its plan, its claimed
book folder, and a synthesis run on the backend the render picked."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiobook.progress import Progress, ProgressCallback
from audiobook.render.events import SynthesisEvents
from audiobook.render.manifest import Manifest
from audiobook.render.options import BookResult, RenderOptions
from audiobook.render.plan import StoryPlan
from audiobook.synth import AudioCache, FollowUp, default_cache_dir, synthesize
from audiobook.synth.backend import Backend
from audiobook.synth.cache import cache_max_bytes
from audiobook.synth.dask import DaskBackend
from audiobook.synth.local import LocalPool

log = logging.getLogger(__name__)


def backend_for(options: RenderOptions) -> Backend:
    """The Dask cluster ``options.scheduler`` names, else a pool of ``options.jobs``."""
    if options.scheduler:
        return DaskBackend(options.scheduler)
    return LocalPool(max(1, options.jobs))


@dataclass
class StoryRender:
    """One story being rendered: its plan, its (locked) book folder, and its synthesis."""

    plan: StoryPlan
    options: RenderOptions
    backend: Backend
    emit: ProgressCallback
    cancel: threading.Event | None
    folder: Path
    manifest: Manifest
    cover: Path
    synthesised: int = 0  # lines that were not in the cache

    @property
    def story(self) -> str:
        return self.plan.path.name

    def cache(self) -> AudioCache:
        root = self.options.cache_dir
        return AudioCache(Path(root) if root else default_cache_dir())

    def synthesise(
        self,
        indexes: Sequence[int],
        followups: Sequence[FollowUp] = (),
        on_followup: Callable[[int, Any], None] | None = None,
    ) -> None:
        """Make the audio of the lines ``indexes`` (segment indexes), running each
        follow-up as soon as its lines are done; then keep the cache under its cap."""
        events = SynthesisEvents(self.plan, indexes, self.emit)
        cache = self.cache()
        synthesize(
            [self.plan.jobs[i] for i in indexes],
            keys=[self.plan.keys[i] for i in indexes],
            engine=self.options.engine,
            cache=cache,
            backend=self.backend,
            on_progress=events,
            cancel=self.cancel,
            followups=followups,
            on_followup=on_followup,
        )
        self.synthesised = events.synthesised
        if self.synthesised:
            self._prune(cache)

    def _prune(self, cache: AudioCache) -> None:
        """Keep the cache under its cap, least recently used out first; never what
        this book uses."""
        mb = self.options.cache_max_mb
        cap = cache_max_bytes() if mb is None else (int(mb * 1024 * 1024) if mb > 0 else None)
        if cap is None:
            return
        removed, freed = cache.prune(cap, set(self.plan.keys.values()))
        if removed:
            log.info("audio cache: %d old entries removed (%.0f MB)", removed, freed / 2**20)

    def result(self, files: list[Path], chapters: int, seconds: float, reused: int) -> BookResult:
        """The book as made; the "done" event."""
        self.emit(Progress("done", self.story, 1, 1))
        lines = len(self.plan.jobs)
        return BookResult(
            self.plan.path, self.folder, files, chapters, seconds, reused,
            [f.with_suffix(".vtt") for f in files], self.cover,
            lines=lines, cached=lines - self.synthesised,
        )  # fmt: skip
