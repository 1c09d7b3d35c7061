"""The Cast tab: who speaks, how much, and in which voice; the narration voice first.

The narration row is a voice, not a person: it reads everything outside quotes and the
lines nobody was found to say. A first-person narrator is a character like the others
(marked "“I”, the narrator") who speaks in that same voice unless given another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from audiobook.model import Gender
from audiobook.preview import preview_text
from audiobook.review import Session
from audiobook.voices import Voice

from .dialogs import Choice, PickerScreen, PromptScreen
from .messages import Decide, send_preview
from .palette import voice_colour
from .tables import selected_key

NARRATION = "\0narration"  # row key of the narration voice (no character has this name)
GENDERS: tuple[Gender, ...] = ("female", "male", "unknown")


# Reading speeds offered (Piper's length scale: 1.25 reads a quarter faster).
SPEED_CHOICES = [
    (0.8, "slower"), (0.9, "a little slower"), (1.0, "the voice's own"),
    (1.1, "a little faster"), (1.25, "faster"), (1.5, "much faster"),
]  # fmt: skip


class CastPane(Vertical):
    DEFAULT_CSS = """
    CastPane DataTable { height: 1fr; }
    CastPane #cast-detail { height: 2; color: $text-muted; padding: 0 1; }
    CastPane #cast-unattributed { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "voice", "Voice"),
        Binding("l,space", "preview", "Preview"),
        Binding("r", "rename", "Rename"),
        Binding("g", "gender", "Gender"),
        Binding("m", "merge", "Merge"),
        Binding("a", "split", "Split alias"),
        Binding("d", "not_character", "Not a character"),
        Binding("s", "speed", "Speed"),
    ]

    def __init__(self, engine: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.engine = engine
        self.session: Session | None = None
        self.follow: str | None = None  # after a rename/merge/split, the row to land on

    def compose(self) -> ComposeResult:
        table: DataTable[Text | str] = DataTable(cursor_type="row", id="cast-table")
        table.add_column("Character", key="name", width=22)
        table.add_column("Lines", key="lines", width=5)
        table.add_column("Gender", key="gender", width=7)
        table.add_column("Voice", key="voice", width=12)
        table.add_column("Also called", key="aliases")
        yield table
        yield Static("", id="cast-unattributed")
        yield Static("Analysing the story…", id="cast-detail")

    @property
    def table(self) -> DataTable[Text | str]:
        return self.query_one("#cast-table", DataTable)

    def show(self, session: Session) -> None:
        """Redraw from the session, keeping the cursor on the same character if it
        still exists (a rename or merge moves it to the new name)."""
        self.session = session
        table = self.table
        wanted = [self.follow, self.selected()]
        table.clear()
        lib, narrator = session.library, session.casting.narrator

        def voice_cell(name: str) -> Text:
            v = session.voice_of(name) if name != NARRATION else narrator
            return Text(v.name, style=voice_colour(v, narrator, lib) or "")

        everything = Text("the voice outside quotes", style="dim")
        table.add_row(
            Text("Narration", style="bold"),
            str(session.narration_lines()),
            "—",
            voice_cell(NARRATION),
            everything,
            key=NARRATION,
        )
        widest = everything.cell_len
        for c in session.script.characters:
            aliases = ", ".join(c.aliases)
            if c.narrator:
                aliases = "“I”, the narrator" + (f", {aliases}" if aliases else "")
            table.add_row(c.name, str(c.lines), c.gender, voice_cell(c.name), aliases, key=c.name)
            widest = max(widest, Text(aliases).cell_len)
        # DataTable sizes an auto column on its next idle, but caches cells drawn before
        # then at the old width until something else changes: size it now.
        column = table.columns[ColumnKey("aliases")]
        column.content_width = max(column.content_width, widest)
        keys = [NARRATION, *(c.name for c in session.script.characters)]
        keep = next((k for k in wanted if k in keys), NARRATION)
        if self.follow in keys or session.settled:  # else: still waiting for the analysis
            self.follow = None
        table.move_cursor(row=keys.index(keep))
        self._describe()
        self._unattributed(session)

    def _unattributed(self, session: Session) -> None:
        line = self.query_one("#cast-unattributed", Static)
        if not session.settled:
            line.update(Text("Finding who speaks…", style="italic"))
            return
        n = session.unattributed_lines()
        if not n:
            line.update("")
            return
        line.update(
            Text.assemble(
                (f"{n} dialogue line{'s' * (n != 1)} with no speaker", "bold yellow"),
                f": read in the narration voice ({session.casting.narrator.name}). "
                "Script tab: n finds them.",
            )
        )

    def select(self, key: str) -> None:
        """Put the cursor on a character (by name) or on the narration row."""
        for i, row in enumerate(self.table.ordered_rows):
            if row.key.value == key:
                self.table.move_cursor(row=i)

    def selected(self) -> str | None:
        return selected_key(self.table)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe()

    def _describe(self) -> None:
        s, key = self.session, self.selected()
        if s is None or key is None:
            return
        v = s.casting.narrator if key == NARRATION else s.voice_of(key)
        who = "Narration (outside quotes, and unattributed lines)" if key == NARRATION else key
        speed = s.speed_of(None if key == NARRATION else key)
        self.query_one("#cast-detail", Static).update(
            Text.assemble(
                (who, "bold"),
                " is read by ",
                (v.name, "bold"),
                f" ({v.gender}): {v.description}",
                f", at {speed:g}× speed" if speed != 1 else "",
            )
        )

    def _character(self) -> str | None:
        """The selected character; None (with a hint) on the narration row."""
        key = self.selected()
        if key == NARRATION:
            self.notify("The narration row only has a voice (v) and a preview (l).")
            return None
        return key

    # --- actions ----------------------------------------------------------------

    def _speaker(self) -> tuple[Session, str | None] | None:
        """The session and the selected row's speaker (None: the narration)."""
        s, key = self.session, self.selected()
        if s is None or key is None:
            return None
        return s, (None if key == NARRATION else key)

    def _pick(
        self,
        what: str,
        who: str | None,
        choices: list[Choice],
        current: str,
        decide: Callable[[Session, str], object],
    ) -> None:
        """Ask for the speaker's ``what`` (voice, speed); the choice is a decision."""
        label = "narration" if who is None else who

        def chosen(value: str | None) -> None:
            if value:
                self.post_message(Decide(lambda s: decide(s, value), f"{label}: {what} {value}"))

        title = f"{what.capitalize()} for {'the narration' if who is None else who}"
        self.app.push_screen(PickerScreen(title, choices, current=current), chosen)

    def action_voice(self) -> None:
        if (picked := self._speaker()) is None:
            return
        s, who = picked
        choices = [Choice(v.name, v.name, f"{v.gender}, {v.description}") for v in s.library]
        current = s.voice_of(who).name
        self._pick("voice", who, choices, current, lambda s, name: s.set_voice(who, name))

    def action_speed(self) -> None:
        if (picked := self._speaker()) is None:
            return
        s, who = picked
        choices = [Choice(f"{x:g}", f"{x:g}× {note}") for x, note in SPEED_CHOICES]
        current = f"{s.speed_of(who):g}"
        self._pick("speed", who, choices, current, lambda s, x: s.set_speed(who, float(x)))

    def action_preview(self) -> None:
        if (picked := self._speaker()) is None:
            return
        s, who = picked
        voice = s.voice_of(who)
        label = "narration" if who is None else who
        self.notify(f"Preparing a preview of {label} ({voice.name})…", timeout=2)
        self._preview(preview_text(s.script, who), voice, label)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _preview(self, text: str, voice: Voice, label: str) -> None:
        send_preview(self, text, voice, self.engine, label)

    def action_rename(self) -> None:
        name = self._character()
        if name is None:
            return

        def renamed(new: str | None) -> None:
            if new and new != name:
                self.follow = new
                self.post_message(Decide(lambda s: s.rename(name, new), f"renamed to {new}"))

        self.app.push_screen(PromptScreen(f"Rename {name} to:", name), renamed)

    def action_gender(self) -> None:
        name = self._character()
        if name is None or self.session is None:
            return
        c = self.session.script.character(name)
        current = c.gender if c else None
        choices = [Choice(g, g) for g in GENDERS]

        def chosen(g: str | None) -> None:
            gender = next((x for x in GENDERS if x == g), None)
            if gender is not None:
                self.post_message(Decide(lambda s: s.set_gender(name, gender), f"{name}: {gender}"))

        self.app.push_screen(PickerScreen(f"Gender of {name}", choices, current=current), chosen)

    def action_merge(self) -> None:
        name = self._character()
        if name is None or self.session is None:
            return
        others = [c for c in self.session.script.characters if c.name != name]
        if not others:
            self.notify("There is no other character to merge with.")
            return
        choices = [Choice(c.name, c.name, f"{c.lines} lines") for c in others]

        def chosen(target: str | None) -> None:
            if target:
                self.follow = target
                self.post_message(
                    Decide(lambda s: s.merge(name, target), f"{name} merged into {target}")
                )

        self.app.push_screen(PickerScreen(f"Merge {name} into…", choices), chosen)

    def action_not_character(self) -> None:
        name = self._character()
        if name is None:
            return
        self.post_message(
            Decide(
                lambda s: s.not_a_character(name),
                f"{name} is not a character; their lines are attributed again",
            )
        )

    def action_split(self) -> None:
        name = self._character()
        if name is None or self.session is None:
            return
        c = self.session.script.character(name)
        aliases = c.aliases if c else []
        if not aliases:
            self.notify(f"{name} has no other names to split out.")
            return

        def chosen(alias: str | None) -> None:
            if alias:
                self.follow = alias
                self.post_message(
                    Decide(lambda s: s.split(name, alias), f"{alias} is now a character")
                )

        choices = [Choice(a, a) for a in aliases]
        self.app.push_screen(PickerScreen(f"Split which name out of {name}?", choices), chosen)
