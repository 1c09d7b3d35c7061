"""Progress reports with an ETA, shared by the CLI bar and the TUI.

The core only emits ``Progress`` events through a callback; how they are shown is the
front end's business.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from .errors import printable


@dataclass
class Progress:
    stage: str  # "analyse" | "synthesise" | "export" | "done"
    story: str
    done: float
    total: float
    eta: float | None = None  # seconds left in this stage, when it can be told
    detail: str = ""
    # The chapter (its index) a "synthesise" or "export" event is about, its own done
    # and total; None: the whole book. A front end showing chapters reads these.
    chapter: int | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0


ProgressCallback = Callable[[Progress], None]


class EtaClock:
    """Remaining time from the rate so far; says nothing until there is a rate."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def eta(self, done: float, total: float) -> float | None:
        elapsed = time.monotonic() - self.t0
        if done <= 0 or elapsed < 0.5:
            return None
        return max(0.0, elapsed * (total - done) / done)


def fmt_duration(seconds: float) -> str:
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StderrBar:
    """One redrawn line on a terminal; on a pipe or in CI, a line per 10% so logs stay
    readable."""

    def __init__(self, stream: TextIO | None = None, width: int = 28) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.width = width
        self._last_key: tuple[str, str, int] | None = None
        self._drawn = False

    def __call__(self, p: Progress) -> None:
        if p.chapter is not None:  # one line for the book
            return
        pct = int(p.fraction * 100)
        if p.stage == "done":
            self.finish()
            return
        eta = f" ETA {fmt_duration(p.eta)}" if p.eta is not None else ""
        filled = int(p.fraction * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        story, detail = printable(p.story)[:30], printable(p.detail)  # from the story
        line = f"{p.stage:<10} {story:<30} [{bar}] {pct:3d}%{eta} {detail}".rstrip()
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self._drawn = True
        else:
            key = (p.stage, p.story, pct // 10)
            if key == self._last_key:
                return
            self._last_key = key
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
