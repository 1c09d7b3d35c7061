"""Messages the panes and workers post; the app owns the session and answers them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.message import Message
from textual.widget import Widget

from audiobook.errors import AudiobookError
from audiobook.preview import play, render_preview
from audiobook.review import Analysis, Session
from audiobook.voices import Voice


class Decide(Message):
    """Apply ``change`` to the session (it re-analyses and saves), then redraw."""

    def __init__(self, change: Callable[[Session], object], done: str = "") -> None:
        super().__init__()
        self.change = change
        self.done = done


class StoryLoaded(Message):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session


class Analysed(Message):
    """A re-analysis finished (it may be stale by now: the session decides)."""

    def __init__(self, result: Analysis) -> None:
        super().__init__()
        self.result = result


class LoadFailed(Message):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class PreviewReady(Message):
    def __init__(self, wav: Path, played: bool, who: str) -> None:
        super().__init__()
        self.wav = wav
        self.played = played
        self.who = who


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


class RenderUpdate(Message):
    """A snapshot of render progress (fractions 0..1), posted from the render thread."""

    def __init__(
        self, chapters: dict[int, float], overall: float, eta: float | None, detail: str
    ) -> None:
        super().__init__()
        self.chapters = chapters
        self.overall = overall
        self.eta = eta
        self.detail = detail


class RenderFinished(Message):
    """``folder`` is set on success; ``error`` on failure; neither when cancelled."""

    def __init__(
        self,
        folder: Path | None = None,
        files: list[Path] | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> None:
        super().__init__()
        self.folder = folder
        self.files = files or []
        self.error = error
        self.cancelled = cancelled
