"""The Render tab: choose the engine and output folder, render the book or one
chapter, watch it, cancel it.

The render runs the core's ``render_story`` in a thread worker; the worker turns its
progress events (the book's, and each chapter's) into ``RenderUpdate`` messages (a few
per second at most) so the UI thread only ever redraws. A cancelled render leaves
behind only what it finished (chapter files are written whole or not at all); the side
files it started the book folder with are removed if no chapter made it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ListItem, ListView, ProgressBar, Static
from textual.worker import Worker

from audiobook.errors import AudiobookError, Cancelled
from audiobook.export import book_folder
from audiobook.model import Script
from audiobook.progress import Progress, fmt_duration
from audiobook.render import RenderOptions, render_story
from audiobook.review import Session

from .dialogs import Choice, PickerScreen, PromptScreen
from .messages import RenderFinished, RenderUpdate

UPDATE_EVERY = 0.1  # seconds between progress messages from the worker
SYNTH_SHARE = 0.9  # of a chapter's bar; encoding the chapter is the rest
ENGINES = (
    Choice("piper", "piper", "the real voices"),
    Choice("tone", "tone", "beeps in each voice's pitch: a fast check of the whole pipeline"),
)


@dataclass
class Bars:
    """What the progress bars show, kept from the render's events."""

    wanted: set[int]  # the chapters being rendered
    synthesised: dict[int, float] = field(default_factory=dict)  # chapter -> fraction
    made: set[int] = field(default_factory=set)  # chapters whose file is done
    book: float = 0.0  # of the book's synthesis
    eta: float | None = None
    status: str = ""

    def update(self, p: Progress) -> None:
        if p.chapter is not None:
            if p.stage == "synthesise":
                self.synthesised[p.chapter] = p.fraction
            elif p.stage == "export":
                self.made.add(p.chapter)
            return
        self.eta = p.eta
        self.status = f"{p.stage}: {p.detail}".rstrip(": ")
        if p.stage in ("export", "done"):
            self.book = 1.0
        elif p.stage == "synthesise":
            self.book = p.fraction
        if p.stage == "done":
            self.made |= self.wanted

    def chapters(self) -> dict[int, float]:
        return {
            ch: 1.0 if ch in self.made else SYNTH_SHARE * self.synthesised.get(ch, 0.0)
            for ch in self.wanted
        }

    @property
    def overall(self) -> float:
        made = len(self.made & self.wanted) / max(1, len(self.wanted))
        return SYNTH_SHARE * self.book + (1 - SYNTH_SHARE) * made


def snapshot_folder(folder: Path) -> set[str]:
    """The names in the book folder before a render (none if it does not exist yet)."""
    try:
        return {p.name for p in folder.iterdir()}
    except OSError:
        return set()


def remove_unfinished(
    folder: Path, top: Path, before: set[str] | None, chapters_made: bool
) -> None:
    """After a cancel: no ``.part`` files, and if the render made no chapter, none of
    the side files (cover, summary, reader list) it added to the folder, nor the
    folders under ``top`` it leaves empty. What was there before is kept."""
    if before is None:
        return
    for path in snapshot_folder(folder) - before:
        p = folder / path
        if p.name.endswith(".part") or (not chapters_made and p.is_file()):
            with contextlib.suppress(OSError):
                p.unlink()
    if not before:
        with contextlib.suppress(OSError):  # rmdir fails on the first folder not empty
            for d in [folder, *folder.parents]:  # the book, author (and series) folders
                if d == top or top not in d.parents:
                    break
                d.rmdir()


@contextlib.contextmanager
def stderr_with_fd() -> Iterator[None]:
    """Starting the synthesis process pool passes ``sys.stderr.fileno()`` to the
    children; under Textual ``sys.stderr`` is a capture whose fileno is -1, and the
    pool fails to start ("bad value(s) in fds_to_keep"). Lend it a real (null) file
    for the length of the render."""
    try:
        ok = sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        ok = False
    if ok:
        yield
        return
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stderr = null
        try:
            yield
        finally:
            if sys.stderr is null:  # unless someone (the app exiting) replaced it since
                sys.stderr = saved


class ChapterRow(ListItem):
    DEFAULT_CSS = """
    ChapterRow { height: 1; }
    ChapterRow Horizontal { height: 1; }
    ChapterRow .row-title { width: 1fr; }
    ChapterRow ProgressBar { width: auto; }
    """

    def __init__(self, index: int, title: str) -> None:
        super().__init__()
        self.chapter_index = index
        self.chapter_title = title

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(f"{self.chapter_index + 1}. {self.chapter_title}", classes="row-title")
            yield ProgressBar(total=100, show_eta=False, id=f"bar-{self.chapter_index}")


class RenderPane(Vertical):
    DEFAULT_CSS = """
    RenderPane #render-out { height: auto; padding: 0 1; }
    RenderPane ListView { height: 1fr; }
    RenderPane #overall-row { height: 1; padding: 0 1; }
    RenderPane #overall-label { width: 1fr; text-style: bold; }
    RenderPane #overall-row ProgressBar { width: auto; }
    RenderPane #render-status { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "render_book", "Render book"),
        Binding("c", "render_chapter", "Render chapter"),
        Binding("x", "cancel", "Cancel"),
        Binding("e", "engine", "Engine"),
        Binding("o", "out_dir", "Output folder"),
        Binding("escape", "cancel(True)", "Cancel", show=False),
    ]

    def __init__(
        self,
        engine: str,
        out_dir: Path,
        jobs: int,
        cache_dir: Path | None,
        voice_dirs: tuple[Path, ...] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.engine = engine
        self.out_dir = out_dir
        self.jobs = jobs
        self.cache_dir = cache_dir
        self.voice_dirs = voice_dirs
        self.session: Session | None = None
        self.cancel_event: threading.Event | None = None
        self.running: set[int] = set()
        self.last_folder: Path | None = None
        self.worker: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="render-out")
        yield ListView(id="render-chapters")
        with Horizontal(id="overall-row"):
            yield Label("Overall", id="overall-label")
            yield ProgressBar(total=100, show_eta=False, id="bar-overall")
        yield Static(
            "b renders the book, c (or enter) the highlighted chapter; "
            "e picks the engine, o the output folder.",
            id="render-status",
        )

    @property
    def busy(self) -> bool:
        return self.cancel_event is not None

    def folder(self) -> Path | None:
        if self.session is None:
            return None
        meta, title = self.session.script.meta, self.session.script.title
        return book_folder(self.out_dir.absolute(), meta.author, title, meta.series)

    def show(self, session: Session) -> None:
        first = self.session is None or len(session.script.chapters) != len(self.query(ChapterRow))
        self.session = session
        self.query_one("#render-out", Static).update(
            f"Engine: {self.engine}    Output: {self.folder()}"
        )
        if first and not self.busy:
            lv = self.query_one(ListView)
            lv.clear()
            lv.extend(ChapterRow(c.index, c.title) for c in session.script.chapters)
            lv.index = 0

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        self.action_render_chapter()

    def action_render_book(self) -> None:
        self._start(None)

    def action_render_chapter(self) -> None:
        row = self.query_one(ListView).highlighted_child
        if isinstance(row, ChapterRow):
            self._start({row.chapter_index})

    def action_cancel(self, quiet: bool = False) -> None:
        if self.cancel_event is None:
            if not quiet:
                self.notify("Nothing is rendering.")
            return
        self.cancel_event.set()
        self._status("Cancelling: stopping after the line being spoken…")

    async def stop(self) -> None:
        """Cancel a running render and wait until it has stopped and tidied up."""
        worker = self.worker
        if self.cancel_event is not None:
            self.cancel_event.set()
            self._status("Cancelling: stopping after the line being spoken…")
        if worker is not None and not worker.is_finished:
            await worker.wait()

    def _idle(self) -> bool:
        """Whether the render settings may change: not while a render uses them."""
        if self.busy:
            self.notify("Not while rendering (x cancels).", severity="warning")
        return not self.busy

    def _changed(self, note: str) -> None:
        """A setting changed: show the pane with it, and say so."""
        if self.session is not None:
            self.show(self.session)
        self.notify(note, timeout=4)

    def action_engine(self) -> None:
        if not self._idle():
            return

        def chosen(name: str | None) -> None:
            if name:
                self.engine = name
                for pane in self.app.query("CastPane"):
                    pane.engine = name  # type: ignore[attr-defined]  # previews use it too
                self._changed(f"Engine: {name}")

        self.app.push_screen(PickerScreen("Render with", ENGINES, current=self.engine), chosen)

    def action_out_dir(self) -> None:
        if not self._idle():
            return

        def chosen(path: str | None) -> None:
            if path:
                self.out_dir = Path(path).expanduser()
                self._changed(f"Books go to {self.out_dir.absolute()}")

        self.app.push_screen(PromptScreen("Output folder:", str(self.out_dir.absolute())), chosen)

    def _status(self, text: str) -> None:
        self.query_one("#render-status", Static).update(text)

    def _start(self, chapters: set[int] | None) -> None:
        s = self.session
        if s is None:
            return
        if self.busy:
            self.notify("A render is already running (x cancels it).", severity="warning")
            return
        try:
            s.save()  # the render reads the decisions from disk
        except AudiobookError as e:
            self.notify(str(e), severity="error")
            return
        self.cancel_event = threading.Event()
        self.running = {c.index for c in s.script.chapters} if chapters is None else chapters
        for row in self.query(ChapterRow):
            if row.chapter_index in self.running:
                row.query_one(ProgressBar).update(progress=0)
        self.query_one("#bar-overall", ProgressBar).update(progress=0)
        what = "the book" if chapters is None else f"chapter {min(chapters) + 1}"
        self._status(f"Rendering {what}…")
        # The script of this moment: later decisions replace it, not edit it.
        self.worker = self._run_render(s.path, s.script, chapters, self.cancel_event)

    @work(thread=True, exclusive=True, group="render", exit_on_error=False)
    def _run_render(
        self,
        path: Path,
        script: Script,
        chapters: set[int] | None,
        cancel: threading.Event,
    ) -> None:
        options = RenderOptions(
            out_dir=self.out_dir,
            jobs=self.jobs,
            cache_dir=self.cache_dir,
            engine=self.engine,
            voice_dirs=self.voice_dirs,
            chapters=chapters,
            save_sidecar=False,  # the TUI writes the sidecar itself, on every decision
        )
        folder = self.folder()
        before = snapshot_folder(folder) if folder is not None else None
        try:
            bars = Bars({c.index for c in script.chapters} if chapters is None else chapters)
            last = 0.0

            def on_progress(p: Progress) -> None:
                nonlocal last
                bars.update(p)
                now = time.monotonic()
                if p.stage in ("export", "done") or now - last >= UPDATE_EVERY:
                    last = now
                    self.post_message(
                        RenderUpdate(bars.chapters(), bars.overall, bars.eta, bars.status)
                    )

            with stderr_with_fd():
                book = render_story(
                    path, options, progress=on_progress, cancel=cancel, script=script
                )
        except Cancelled:
            if folder is not None:
                remove_unfinished(
                    folder,
                    self.out_dir.absolute(),
                    before,
                    _any_chapter(folder, before),
                )
            self.post_message(RenderFinished(cancelled=True))
        except AudiobookError as e:
            self.post_message(RenderFinished(error=str(e)))
        except Exception as e:  # a bug must not leave the UI stuck in "rendering"
            self.post_message(RenderFinished(error=f"{type(e).__name__}: {e}"))
        else:
            self.post_message(RenderFinished(folder=book.folder, files=book.files))

    def on_render_update(self, msg: RenderUpdate) -> None:
        msg.stop()
        for row in self.query(ChapterRow):
            done = msg.chapters.get(row.chapter_index)
            if done is not None:
                row.query_one(ProgressBar).update(progress=round(100 * done))
        self.query_one("#bar-overall", ProgressBar).update(progress=round(100 * msg.overall))
        eta = f"ETA {fmt_duration(msg.eta)}" if msg.eta is not None else "ETA …"
        self.query_one("#overall-label", Label).update(f"Overall  {eta}")
        self._status(msg.detail)

    def on_render_finished(self, msg: RenderFinished) -> None:
        msg.stop()
        self.cancel_event = None
        self.query_one("#overall-label", Label).update("Overall")
        if msg.cancelled:
            self._status("Cancelled. Finished lines are cached: rendering again resumes.")
            self.notify("Render cancelled.")
        elif msg.error:
            self._status(f"Failed: {msg.error}")
            self.notify(msg.error, title="Render failed", severity="error", timeout=10)
        elif msg.folder is not None:
            self.last_folder = msg.folder
            self.query_one("#bar-overall", ProgressBar).update(progress=100)
            n = len(msg.files)
            self._status(f"Done: {n} chapter file{'s' * (n != 1)} in {msg.folder}")
            self.notify(f"Rendered to {msg.folder}", title="Done", timeout=10)


def _any_chapter(folder: Path, before: set[str] | None) -> bool:
    """Whether this render finished a chapter file (it only renames whole ones in)."""
    new = snapshot_folder(folder) - (before or set())
    return any(n.endswith((".mp3", ".m4b")) for n in new)
