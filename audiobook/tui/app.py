"""The Textual app: Cast, Script and Render tabs over one story.

The app owns the ``Session``; panes never change it directly but post ``Decide``
messages, so every decision goes through one place that re-analyses, saves and redraws.
Slow work (loading, previews, renders) runs in thread workers that post messages back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, ListView, TabbedContent, TabPane

from audiobook.errors import AudiobookError

from .cast_pane import CastPane
from .dialogs import HelpScreen
from .lexicon_pane import LexiconScreen
from .messages import Decide, LoadFailed, PreviewReady, StoryLoaded
from .render_pane import RenderPane
from .script_pane import ScriptPane
from .session import Session

ENGINE_ENV = "AUDIOBOOK_ENGINE"


class AudiobookApp(App[None]):
    TITLE = "audiobook"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    TabbedContent, ContentSwitcher, TabPane { height: 1fr; }
    TabPane { padding: 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('cast')", "Cast", show=False),
        Binding("2", "tab('script')", "Script", show=False),
        Binding("3", "tab('render')", "Render", show=False),
        Binding("4", "words", "Pronunciation", show=False),
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
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"analysing {self.story.name}…"
        self.query_one(CastPane).table.focus()
        self._load()

    @work(thread=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            session = Session(self.story, voice_dirs=self.voice_dirs)
        except AudiobookError as e:
            self.post_message(LoadFailed(e))
        else:
            self.post_message(StoryLoaded(session))

    def on_story_loaded(self, msg: StoryLoaded) -> None:
        self.session = msg.session
        meta = msg.session.script.meta
        self.title = msg.session.script.title
        self.sub_title = meta.author or ""
        self._redraw()

    def on_load_failed(self, msg: LoadFailed) -> None:
        self.load_error = (
            msg.error if isinstance(msg.error, AudiobookError) else AudiobookError(str(msg.error))
        )
        self.exit(return_code=1)

    def _redraw(self) -> None:
        if self.session is None:
            return
        self.query_one(CastPane).show(self.session)
        self.query_one(ScriptPane).show(self.session)
        self.query_one(RenderPane).show(self.session)
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
        note = msg.done or (said if isinstance(said, str) else "")
        if note:
            self.notify(f"{note} (saved)", timeout=3)

    def on_preview_ready(self, msg: PreviewReady) -> None:
        if msg.played:
            self.notify(f"Playing {msg.who}.", timeout=3)
        else:
            self.notify(
                f"No audio player found; the preview of {msg.who} is in {msg.wav}", timeout=12
            )

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_pane(event.pane.id or "")

    def _focus_pane(self, name: str) -> None:
        target: Widget | None = None
        if name == "cast":
            target = self.query_one(CastPane).query_one(DataTable)
        elif name == "script":
            target = self.query_one(ScriptPane).lines
        elif name == "render":
            target = self.query_one(RenderPane).query_one(ListView)
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
        if render.cancel_event is not None:
            render.cancel_event.set()  # the worker stops after the current line
        self.exit()


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
    app.run()
    if app.load_error is not None:
        raise app.load_error
    return app.return_code or 0
