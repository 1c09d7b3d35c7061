"""The pronunciation screen: the story's unusual words, so they are fixed before a render.

Listed are the words read aloud that are not in the English word list (invented names,
fandom terms), most used first, with what the voice will say for each. An entry made
here goes into the story's sidecar; the user's own and the built-in ones show too.
"""

from __future__ import annotations

import re
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from audiobook.review import Session
from audiobook.speech import spoken_text
from audiobook.text.lexicon import Entry
from audiobook.text.normalize import normalize
from audiobook.voices import Voice

from .dialogs import PromptScreen
from .messages import Decide, send_preview
from .tables import selected_key

CONTEXT_CHARS = 110


class LexiconScreen(Screen[None]):
    DEFAULT_CSS = """
    LexiconScreen #lex-intro { height: 2; padding: 0 1; color: $text-muted; }
    LexiconScreen DataTable { height: 1fr; }
    LexiconScreen #lex-detail { height: 3; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Say it as…"),  # enter too: the table's row selection
        Binding("l,space", "listen", "Listen"),
        Binding("d,delete", "forget", "Remove"),
        Binding("escape,4", "close", "Back"),
    ]

    def __init__(self, engine: str) -> None:
        super().__init__()
        self.engine = engine
        self.session: Session | None = None
        self.rows: list[tuple[str, int, Entry | None]] = []
        self._drawn = False  # set once mounted: show() before that only keeps the session

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            "Words the voice may not know (not in the English word list), most used first. "
            "Fix them before rendering: enter a respelling, or [[ phonemes ]].",
            id="lex-intro",
        )
        table: DataTable[Text | str] = DataTable(cursor_type="row", id="lex-table")
        table.add_column("Word", key="word", width=22)
        table.add_column("Uses", key="uses", width=5)
        table.add_column("Said as", key="said")
        table.add_column("From", key="from", width=9)
        yield table
        yield Static("", id="lex-detail")
        yield Footer()

    @property
    def table(self) -> DataTable[Text | str]:
        return self.query_one("#lex-table", DataTable)

    def on_mount(self) -> None:
        self._drawn = True
        self.table.focus()
        if self.session is not None:
            self.show(self.session)

    def show(self, session: Session) -> None:
        """Redraw from the session, keeping the cursor on the same word."""
        self.session = session
        if not self._drawn:
            return
        keep = self.selected()
        lexicon = session.lexicon()
        rows = [(u.word, u.count, u.entry) for u in session.unusual_words()]
        listed = {w.casefold() for w, _, _ in rows}
        # The story's own entries stay reachable even for words the list leaves out.
        for e in lexicon:
            if e.level == "story" and e.word.casefold() not in listed:
                rows.append((e.word, 0, e))
        self.rows = rows
        table = self.table
        table.clear()
        for word, count, entry in rows:
            said = Text(entry.said) if entry else Text("as written", style="dim")
            level = entry.level if entry else ""
            table.add_row(word, str(count) if count else "—", said, level, key=word)
        words = [w for w, _, _ in rows]
        if keep in words:
            table.move_cursor(row=words.index(keep))
        self._describe()

    def selected(self) -> str | None:
        return selected_key(self.table)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def _describe(self) -> None:
        detail = self.query_one("#lex-detail", Static)
        s, word = self.session, self.selected()
        if s is None or word is None:
            detail.update("No unusual words: every word read aloud is in the English word list.")
            return
        context = self._line_with(s, word)
        detail.update(
            Text.assemble((word, "bold"), " in the story: ", context or "(not read aloud)")
        )

    def _line_with(self, s: Session, word: str) -> str:
        """The first line read aloud that has the word, as the voice will say it."""
        rx = re.compile(rf"(?<![\w'’]){re.escape(word)}(?![\w])", re.IGNORECASE)
        lexicon = s.lexicon()
        for seg in s.script.segments:
            if s.is_read(seg) and rx.search(seg.text):
                said = spoken_text(seg, lexicon)
                return said if len(said) <= CONTEXT_CHARS else said[: CONTEXT_CHARS - 1] + "…"
        return ""

    # --- actions ----------------------------------------------------------------

    def action_edit(self) -> None:
        s, word = self.session, self.selected()
        if s is None or word is None:
            return
        entry = s.lexicon().lookup(word)
        current = entry.said if entry else word

        def chosen(said: str | None) -> None:
            if said and said != current:
                self.post_message(Decide(lambda s: s.set_pronunciation(word, said)))

        self.app.push_screen(
            PromptScreen(f"Say {word} as (a respelling, or [[ phonemes ]]):", current), chosen
        )

    def action_forget(self) -> None:
        s, word = self.session, self.selected()
        if s is None or word is None:
            return
        if word not in s.sidecar.lexicon:
            entry = s.lexicon().lookup(word)
            where = f"comes from the {entry.level} lexicon" if entry else "has no entry"
            self.notify(f"{word} {where}; only this story's own entries are removed here.")
            return
        self.post_message(
            Decide(lambda s: s.forget_pronunciation(word), f"{word} is said as written")
        )

    def action_listen(self) -> None:
        s, word = self.session, self.selected()
        if s is None or word is None:
            return
        said = s.lexicon().apply(normalize(word))
        voice = s.casting.narrator
        self.notify(f"Preparing {word} ({voice.name})…", timeout=2)
        self._listen(said, voice, word)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _listen(self, text: str, voice: Voice, word: str) -> None:
        send_preview(self, text, voice, self.engine, word)

    def action_close(self) -> None:
        self.app.pop_screen()
