"""The Textual app: Cast, Script and Render tabs over one story.

The app owns the ``Session``; panes never change it directly but post ``Decide``
messages, so every decision goes through one place that saves and redraws. A decision
shows its own effect at once; the re-analysis it implies runs in a thread worker (one at
a time, a newer decision making the older run stale) and is adopted when it finishes.
Slow work (loading, analysis, previews, renders) runs in thread workers that post
messages back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Header, ListView, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from audiobook.analyze import unplaced_notice
from audiobook.errors import AudiobookError
from audiobook.review import Session

from .cast_pane import CastPane
from .dialogs import ConfirmScreen, HelpScreen, PromptScreen
from .lexicon_pane import LexiconScreen
from .messages import Analysed, Decide, LoadFailed, PreviewReady, StoryLoaded
from .render_pane import RenderPane, stderr_with_fd
from .script_pane import ScriptPane

if TYPE_CHECKING:
    from audiobook.sidecar import Sidecar

ENGINE_ENV = "AUDIOBOOK_ENGINE"
FIRST_DRAW_WAIT = 2.0  # seconds analysis waits for the first screen, at most


class AudiobookApp(App[None]):
    TITLE = "audiobook"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    TabbedContent, ContentSwitcher, TabPane { height: 1fr; }
    TabPane { padding: 0; }
    #keys { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('cast')", "Cast", show=False),
        Binding("2", "tab('script')", "Script", show=False),
        Binding("3", "tab('render')", "Render", show=False),
        Binding("4", "words", "Pronunciation", show=False),
        Binding("u", "undo", "Undo"),
        Binding("U", "redo", "Redo", show=False),
        Binding("t", "book", "Title/author", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        story: Path,
        *,
        engine: str | None = None,
        out_dir: Path = Path("output"),
        jobs: int | None = None,
        cache_dir: Path | None = None,
        voice_dirs: Sequence[Path] = (),
    ) -> None:
        super().__init__()
        self.story = Path(story)
        self.engine = engine or os.environ.get(ENGINE_ENV) or "piper"
        self.out_dir = out_dir
        self.jobs = jobs or os.cpu_count() or 1
        self.cache_dir = cache_dir
        self.voice_dirs = tuple(voice_dirs)
        self.session: Session | None = None
        self.load_error: AudiobookError | None = None
        # One analysis at a time: a stale one waiting for the lock gives up.
        self._analysis_lock = threading.Lock()
        self._first_drawn = threading.Event()
        self._stale: set[str] = set()  # tabs to redraw when they come into view
        self._told_unplaced = False

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="cast"):
            with TabPane("1 Cast", id="cast"):
                yield CastPane(self.engine)
            with TabPane("2 Script", id="script"):
                yield ScriptPane()
            with TabPane("3 Render", id="render"):
                yield RenderPane(
                    self.engine, self.out_dir, self.jobs, self.cache_dir, self.voice_dirs
                )
        yield Static(id="keys")

    def on_mount(self) -> None:
        self._show_keys(self.query_one(CastPane))
        self.sub_title = f"analysing {self.story.name}…"
        self.query_one(CastPane).table.focus()
        self._load()

    @work(thread=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        """The story cut into lines first (a long novel is on screen in a moment),
        then who speaks them."""
        try:
            session = Session(self.story, voice_dirs=self.voice_dirs, defer=True)
            snap = session.snapshot()
            with stderr_with_fd():  # the process is started with our stderr
                session.start_process()
        except AudiobookError as e:
            self.post_message(LoadFailed(e))
            return
        self.post_message(StoryLoaded(session))
        # Attribution holds the GIL for seconds on a novel: let the first screen be
        # drawn before it starts.
        self._first_drawn.wait(timeout=FIRST_DRAW_WAIT)
        self._analyse(session, snap)

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False)
    def _reanalyse(self, session: Session, snap: tuple[int, Sidecar]) -> None:
        self._analyse(session, snap)

    def _analyse(self, session: Session, snap: tuple[int, Sidecar]) -> None:
        with self._analysis_lock:
            worker = get_current_worker()
            if snap[0] != session.generation or worker.is_cancelled:
                return  # a later decision's analysis will do
            try:
                result = session.analyse(snap)
            except AudiobookError as e:
                self.call_from_thread(self.notify, e.message, severity="error", timeout=8)
                return
            except Exception as e:  # a bug must not leave "finding who speaks" for ever
                said = f"Analysis failed: {type(e).__name__}: {e}"
                self.call_from_thread(self.notify, said, severity="error", timeout=12)
                return
        self.post_message(Analysed(result))

    def _kick(self) -> None:
        """Start re-analysing if the script lags behind the decisions."""
        if self.session is not None and not self.session.settled:
            self._reanalyse(self.session, self.session.snapshot())

    def on_story_loaded(self, msg: StoryLoaded) -> None:
        self.session = msg.session
        self._redraw()
        self.call_after_refresh(self._first_drawn.set)

    def on_analysed(self, msg: Analysed) -> None:
        s = self.session
        if s is None or not s.adopt(msg.result):
            return
        self._redraw()
        if s.moved:
            n = len(s.moved)
            self.notify(
                f"{n} other line{'s' * (n != 1)} changed with it (marked ↻); u undoes.",
                timeout=6,
            )
        if s.script.unplaced and not self._told_unplaced:
            self._told_unplaced = True
            self.notify(
                unplaced_notice(s.sidecar.path.name, s.script.unplaced),
                severity="warning",
                timeout=20,
            )

    def on_load_failed(self, msg: LoadFailed) -> None:
        self.load_error = (
            msg.error if isinstance(msg.error, AudiobookError) else AudiobookError(str(msg.error))
        )
        self.exit(return_code=1)

    def _redraw(self) -> None:
        """Redraw the tab in view; the others when they next come into view."""
        if self.session is None:
            return
        self.title = self.session.script.title
        self.sub_title = self.session.script.meta.author or ""
        shown = self.query_one(TabbedContent).active
        self._stale = {"cast", "script", "render"} - {shown}
        pane = self._pane(shown)
        if pane is not None:
            pane.show(self.session)
        for screen in self.screen_stack:
            if isinstance(screen, LexiconScreen):
                screen.show(self.session)

    def on_decide(self, msg: Decide) -> None:
        """The one place a decision is applied: re-analyse, save, redraw."""
        if self.session is None:
            return
        try:
            said = msg.change(self.session)
        except AudiobookError as e:
            self.notify(e.message, severity="error", timeout=8)
            return
        self._redraw()
        self._kick()
        note = msg.done or (said if isinstance(said, str) else "")
        if note:
            self.notify(f"{note} (saved; u undoes)", timeout=3)

    def _step(self, undo: bool) -> None:
        s = self.session
        if s is None:
            return
        try:
            done = s.undo() if undo else s.redo()
        except AudiobookError as e:
            self.notify(e.message, severity="error", timeout=8)
            return
        if not done:
            self.notify("Nothing to undo." if undo else "Nothing to redo.")
            return
        self._redraw()
        self._kick()
        self.notify("Undone (U redoes)." if undo else "Redone.", timeout=3)

    def action_undo(self) -> None:
        self._step(True)

    def action_redo(self) -> None:
        self._step(False)

    def action_book(self) -> None:
        """Edit the title, then the author (saved to the sidecar's [book])."""
        s = self.session
        if s is None:
            return
        meta = s.script.meta

        def got_title(title: str | None) -> None:
            if title is None:
                return

            def got_author(author: str | None) -> None:
                if author is not None:
                    self.post_message(
                        Decide(lambda s: s.set_book(title, author), "title and author set")
                    )

            self.push_screen(PromptScreen("Author:", meta.author or ""), got_author)

        self.push_screen(PromptScreen("Title:", s.script.title), got_title)

    def on_preview_ready(self, msg: PreviewReady) -> None:
        if msg.played:
            self.notify(f"Playing {msg.who}.", timeout=3)
        else:
            self.notify(
                f"Could not play it here (no audio player or sound device): the preview "
                f"of {msg.who} was written to {msg.wav}",
                timeout=12,
            )

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_pane(event.pane.id or "")

    def _pane(self, name: str) -> CastPane | ScriptPane | RenderPane | None:
        if name == "cast":
            return self.query_one(CastPane)
        if name == "script":
            return self.query_one(ScriptPane)
        if name == "render":
            return self.query_one(RenderPane)
        return None

    def _show_keys(self, pane: Widget) -> None:
        """The key line: the tab's keys, then the app's. Not Textual's Footer: it is
        rebuilt on every focus change (each picker opening and closing), which costs a
        fix more time than the fix itself."""
        keys = Text()
        for binding in [*pane.BINDINGS, *self.BINDINGS]:
            if isinstance(binding, Binding) and binding.show:
                key = self.get_key_display(replace(binding, key=binding.key.split(",")[0]))
                keys.append(f"{key} ", style="bold").append(f"{binding.description}  ")
        self.query_one("#keys", Static).update(keys)

    def _focus_pane(self, name: str) -> None:
        target: Widget | None = None
        if name == "cast":
            target = self.query_one(CastPane).query_one(DataTable)
        elif name == "script":
            target = self.query_one(ScriptPane).lines
        elif name == "render":
            target = self.query_one(RenderPane).query_one(ListView)
        pane = self._pane(name)
        if pane is not None:
            self._show_keys(pane)
            if self.session is not None and name in self._stale:
                self._stale.discard(name)
                pane.show(self.session)
        if target is not None:
            # At once, not via focus(): a key typed right after the tab key must reach
            # the new tab.
            self.screen.set_focus(target)

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        self._focus_pane(name)

    def action_words(self) -> None:
        """The pronunciation screen: the story's unusual words (key 4)."""
        if self.session is None:
            self.notify("Still analysing the story…")
            return
        if not isinstance(self.screen, LexiconScreen):
            screen = LexiconScreen(self.engine)
            screen.session = self.session
            self.push_screen(screen)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        render = self.query_one(RenderPane)
        if not render.busy:
            self.exit()
            return

        async def answer(yes: bool | None) -> None:
            if yes:
                await render.stop()
                self.exit()

        self.push_screen(ConfirmScreen("A render is running. Cancel it and quit? (y/n)"), answer)


def run_tui(
    story: Path,
    *,
    engine: str | None = None,
    out_dir: Path = Path("output"),
    jobs: int | None = None,
    voice_dirs: Sequence[Path] = (),
    cache_dir: Path | None = None,
) -> int:
    """Run the app; the exit status, or the load error raised for the CLI to report."""
    app = AudiobookApp(
        story,
        engine=engine,
        out_dir=out_dir,
        jobs=jobs,
        voice_dirs=voice_dirs,
        cache_dir=cache_dir,
    )
    try:
        app.run()
    finally:
        if app.session is not None:
            app.session.close()
    if app.load_error is not None:
        raise app.load_error
    return app.return_code or 0
