"""Modal dialogs: a type-to-filter picker, a one-line prompt, a yes/no question, and
the help screen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

NEW = "\0new:"  # value prefix of the "new name" entry a picker may offer


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # what is shown and what typing filters on
    detail: str = ""


class PickerScreen(ModalScreen[str | None]):
    """Pick one of many: typing narrows the list, arrows move, Enter picks, Esc cancels.

    With ``allow_new`` the typed text itself can be picked when nothing matches it
    exactly (e.g. a speaker who is not in the cast yet); its value is ``NEW + text``.
    """

    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PickerScreen Label { width: 100%; text-style: bold; }
    PickerScreen OptionList { height: auto; max-height: 14; border: none; padding: 0; }
    PickerScreen Input { border: tall $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("pageup", "move(-10)", show=False),
    ]

    def __init__(
        self,
        title: str,
        choices: Sequence[Choice],
        current: str | None = None,
        allow_new: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.current = current
        self.allow_new = allow_new  # label template for the typed entry, "{}" = text
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(placeholder="type to filter", id="filter")
            yield OptionList(id="choices")

    def on_mount(self) -> None:
        self._fill(self.query_one(Input).value)  # keys typed before the list was up count
        if self.current is not None and self.current in self.shown:
            self.query_one(OptionList).highlighted = self.shown.index(self.current)
        self.query_one(Input).focus()

    def _fill(self, typed: str) -> None:
        words = typed.casefold().split()
        picked = [
            c for c in self.choices if all(w in f"{c.label} {c.detail}".casefold() for w in words)
        ]
        # What the user typed exactly first, then what starts with it: "male" is male,
        # not the first choice that contains it (female).
        wanted = " ".join(words)
        picked.sort(
            key=lambda c: (c.label.casefold() != wanted, not c.label.casefold().startswith(wanted))
        )
        options: list[Option] = []
        self.shown = []
        for c in picked:
            prompt = Text(c.label)
            if c.detail:
                prompt.append(f"  {c.detail}", style="dim")
            options.append(Option(prompt))
            self.shown.append(c.value)
        name = " ".join(typed.split())
        if self.allow_new and name and all(c.label.casefold() != name.casefold() for c in picked):
            options.append(Option(Text(self.allow_new.format(name), style="italic")))
            self.shown.append(NEW + name)
        ol = self.query_one(OptionList)
        ol.set_options(options)
        ol.highlighted = 0 if options else None

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.query("#choices"):  # else on_mount fills it
            self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._pick(self.query_one(OptionList).highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(event.option_index)

    def _pick(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.shown):
            self.app.bell()
            return
        self.dismiss(self.shown[index])

    def action_move(self, step: int) -> None:
        ol = self.query_one(OptionList)
        if not self.shown:
            return
        now = ol.highlighted if ol.highlighted is not None else 0
        ol.highlighted = max(0, min(len(self.shown) - 1, now + step))

    def action_cancel(self) -> None:
        self.dismiss(None)


class PromptScreen(ModalScreen[str | None]):
    """One line of text, e.g. a new name. Enter accepts, Esc cancels."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 60; max-width: 95%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PromptScreen Label { width: 100%; text-style: bold; }
    PromptScreen Input { border: tall $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(value=self.value, id="answer")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or enter is yes; n or esc is no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 60; max-width: 95%; height: auto;
        border: round $warning; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


HELP = """\
[b]audiobook[/b]: review the cast, fix who says what, pick voices, render.
Changes are saved at once in STORY.audiobook.toml, which `make` reads too.

[b]Anywhere[/b]  1 2 3 tabs (or click them)   4 pronunciations   tab next pane   ? help   q quit
          u undo   U redo (every decision)   t title and author

[b]Cast[/b]      ↑ ↓ row   v voice   l or space preview   r rename   g gender
          m  merge into another character (its names are kept as aliases)
          a  split an alias back out into a character of its own
          d  not a character: its lines go back to attribution

[b]Script[/b]    ← → chapters / lines   n p  next / previous uncertain line
          enter  accept the guess (it stays put, like a fix)
          s  reassign the speaker (type to filter, or a new name)
          x  skip this passage, or read a skipped one
          marks: [b black on yellow]?[/] unsure   [b]•[/] your choice
                 [b magenta]↻[/] changed by your last fix   colour = voice

[b]Render[/b]    b whole book   c or enter the highlighted chapter
          e engine   o output folder
          x or esc  cancel (stops after the line being spoken)

[b]Words[/b]     (key 4) the story's unusual words, most frequent first
          e or enter  respell   l or space  listen   d  forget   esc  back

Esc closes this help."""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
