"""Synthesis progress as ``Progress`` events: one for the book (what the CLI's bar
shows), and one for each chapter whose lines moved (what the TUI's chapter bars show),
so no front end has to work out which line belongs to which chapter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from audiobook.progress import EtaClock, Progress, ProgressCallback
from audiobook.render.plan import StoryPlan
from audiobook.synth import SynthProgress


class SynthesisEvents:
    """Called with each ``SynthProgress`` of one story's synthesis of ``indexes``."""

    def __init__(self, plan: StoryPlan, indexes: Sequence[int], emit: ProgressCallback) -> None:
        self.story = plan.path.name
        self.emit = emit
        self.clock = EtaClock()
        self.synthesised = 0  # lines not found in the cache
        self.total: dict[int, int] = defaultdict(int)  # chapter -> characters
        self.done: dict[int, int] = defaultdict(int)
        self.lines: dict[str, list[tuple[int, int]]] = defaultdict(list)  # key -> chapter, chars
        segments = plan.script.segments
        for i in indexes:
            chapter, chars = segments[i].chapter, len(plan.jobs[i].text)
            self.lines[plan.keys[i]].append((chapter, chars))
            self.total[chapter] += chars
        self.first = True

    def __call__(self, sp: SynthProgress) -> None:
        self.synthesised = sp.total_jobs - sp.cache_hits
        eta = self.clock.eta(sp.done_chars, sp.total_chars)
        lines = f"{sp.done_jobs}/{sp.total_jobs} lines"
        self.emit(Progress("synthesise", self.story, sp.done_chars, sp.total_chars, eta, lines))
        moved = set(self.total) if self.first else set()
        self.first = False
        for key in sp.finished:
            for chapter, chars in self.lines.pop(key, ()):
                self.done[chapter] += chars
                moved.add(chapter)
        for chapter in sorted(moved):
            done, total = self.done[chapter], self.total[chapter]
            self.emit(Progress("synthesise", self.story, done, total, chapter=chapter))


def chapter_made(emit: ProgressCallback, story: str, chapter: int, title: str) -> None:
    """A chapter's audio is finished (its file written, or found as it was made)."""
    emit(Progress("export", story, 1, 1, None, title, chapter=chapter))
