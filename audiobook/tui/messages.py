"""Messages the panes and workers post; the app owns the session and answers them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.message import Message
from textual.widget import Widget

from audiobook.errors import AudiobookError
from audiobook.preview import play, render_preview
from audiobook.review import Analysis, Session
from audiobook.voices import Voice


@dataclass
class Decide(Message):
    """Apply ``change`` to the session (it re-analyses and saves), then redraw."""

    change: Callable[[Session], object]
    done: str = ""


@dataclass
class StoryLoaded(Message):
    session: Session


@dataclass
class Analysed(Message):
    """A re-analysis finished (it may be stale by now: the session decides)."""

    result: Analysis


@dataclass
class LoadFailed(Message):
    error: Exception


@dataclass
class PreviewReady(Message):
    wav: Path
    played: bool
    who: str


def send_preview(widget: Widget, text: str, voice: Voice, engine: str, who: str) -> None:
    """In a worker thread: make the preview and start playing it, then tell the app
    (``PreviewReady``), or say on screen why it could not be made."""
    try:
        wav = render_preview(text, voice, engine)
    except (AudiobookError, OSError) as e:
        widget.app.call_from_thread(
            widget.notify, f"Preview failed: {e}", severity="error", timeout=8
        )
        return
    widget.post_message(PreviewReady(wav, play(wav), who))


@dataclass
class RenderUpdate(Message):
    """A snapshot of render progress (fractions 0..1), posted from the render thread."""

    chapters: dict[int, float]
    overall: float
    eta: float | None
    detail: str


@dataclass
class RenderFinished(Message):
    """``folder`` is set on success; ``error`` on failure; neither when cancelled."""

    folder: Path | None = None
    files: list[Path] = field(default_factory=list)
    error: str | None = None
    cancelled: bool = False
