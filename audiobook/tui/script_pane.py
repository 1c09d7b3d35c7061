"""The Script tab: chapters on the left, the story as lines on the right.

Each dialogue line is coloured by the voice that will read it; ``?`` marks the lines
attribution was unsure of, ``•`` the ones the user settled, and ``↻`` the ones the last
fix moved. Redrawing compares each line with what is on screen and repaints only the
ones that changed, so a fix shows at once even in a long chapter.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from audiobook.model import Segment
from audiobook.review import Session, uncertain

from .dialogs import NEW, Choice, PickerScreen
from .messages import Decide
from .palette import voice_colour

NARRATION_CHOICE = ""  # picker value: give the line to the narration voice
WHO_WIDTH = 14


class ScriptPane(Horizontal):
    DEFAULT_CSS = """
    ScriptPane #chapters { width: 26; height: 1fr; border-right: vkey $panel; }
    ScriptPane #lines { height: 1fr; }
    ScriptPane OptionList, ScriptPane OptionList:focus { border: none; padding: 0; }
    ScriptPane #line-detail { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # The lines list answers enter itself (as "selected"); listed for the key line.
        Binding("enter", "accept", "Accept"),
        Binding("n", "next_uncertain", "Next ?"),
        Binding("p", "prev_uncertain", "Prev ?"),
        Binding("s", "speaker", "Speaker"),
        Binding("x", "toggle_read", "Skip/read"),
        Binding("left", "focus_chapters", "Chapters", show=False),
        Binding("right", "focus_lines", "Lines", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session: Session | None = None
        self.chapter = 0
        self.shown: list[int] = []  # global segment indexes listed in #lines
        self._drawn: list[tuple[object, ...]] = []  # what each shown line looks like
        self._chapter_prompts: list[str] = []
        self._laid_out_width = 0

    def compose(self) -> ComposeResult:
        yield OptionList(id="chapters")
        with Vertical():
            yield OptionList(id="lines")
            yield Static("", id="line-detail")

    @property
    def lines(self) -> OptionList:
        return self.query_one("#lines", OptionList)

    @property
    def chapters(self) -> OptionList:
        return self.query_one("#chapters", OptionList)

    # --- drawing ----------------------------------------------------------------

    def show(self, session: Session) -> None:
        self.session = session
        keep = self.current_segment()
        self._show_chapters(session)
        if self.shown and self.shown == self._chapter_lines():
            self._update_lines()
        else:
            self._fill_lines(keep.start if keep else None)

    def _show_chapters(self, session: Session) -> None:
        unsure = Counter(seg.chapter for seg in session.script.segments if uncertain(seg))
        prompts = [f"{c.index + 1}. {c.title}\0{unsure[c.index]}" for c in session.script.chapters]
        self.chapter = min(self.chapter, max(0, len(session.script.chapters) - 1))
        if prompts == self._chapter_prompts:
            return
        self._chapter_prompts = prompts
        ol = self.chapters
        ol.set_options(
            Option(self._chapter_prompt(c.index, c.title, unsure[c.index]), id=f"c{c.index}")
            for c in session.script.chapters
        )
        with ol.prevent(OptionList.OptionHighlighted):
            ol.highlighted = self.chapter

    def _chapter_prompt(self, index: int, title: str, unsure: int) -> Text:
        t = Text(f"{index + 1}. {title}")
        if unsure:
            t.append(f" {unsure}?", style="bold yellow")
        return t

    def _chapter_lines(self) -> list[int]:
        s = self.session
        if s is None:
            return []
        return [i for i, seg in enumerate(s.script.segments) if seg.chapter == self.chapter]

    def _look(self, s: Session, index: int) -> tuple[object, ...]:
        """Everything a line's drawing depends on."""
        seg = s.script.segments[index]
        voice = s.voice_of(seg.speaker).name if seg.kind == "dialogue" else ""
        return (seg.kind, seg.speaker, seg.sieve, uncertain(seg), voice, index in s.moved)

    def _update_lines(self) -> None:
        """Repaint the lines whose look changed since they were drawn."""
        s = self.session
        if s is None:
            return
        width = self._text_width()
        ol = self.lines
        for n, i in enumerate(self.shown):
            look = self._look(s, i)
            if look != self._drawn[n]:
                self._drawn[n] = look
                ol.replace_option_prompt_at_index(
                    n, self._line_prompt(s, s.script.segments[i], width, i in s.moved)
                )
        self._describe()

    def _fill_lines(self, keep_start: int | None = None) -> None:
        s = self.session
        if s is None:
            return
        segs = s.script.segments
        self.shown = self._chapter_lines()
        self._drawn = [self._look(s, i) for i in self.shown]
        ol = self.lines
        width = self._text_width()
        ol.set_options(
            Option(self._line_prompt(s, segs[i], width, i in s.moved), id=f"s{i}")
            for i in self.shown
        )
        at = 0
        if keep_start is not None:
            at = next((n for n, i in enumerate(self.shown) if segs[i].start >= keep_start), 0)
        if self.shown:
            ol.highlighted = at
        self._describe()

    def _text_width(self) -> int:
        """Columns left for a line's text after the marker and speaker columns (minus
        room for the scrollbar); a guess until the pane is laid out."""
        width = self.lines.size.width or 80
        self._laid_out_width = width
        return max(20, width - 2 - (WHO_WIDTH + 3))

    def on_resize(self) -> None:
        if self.session is not None and self.lines.size.width != self._laid_out_width:
            cur = self.current_segment()
            self._fill_lines(cur.start if cur else None)

    def _line_prompt(self, s: Session, seg: Segment, width: int, moved: bool = False) -> Text:
        text = " ".join(seg.text.split())
        marker, who = Text(" "), Text("")
        body = Text(text)
        read = s.is_read(seg)
        if seg.kind == "dialogue":
            voice = s.voice_of(seg.speaker)
            colour = voice_colour(voice, s.casting.narrator, s.library)
            body = Text(f"“{text}”", style=colour or "")
            who = Text(seg.speaker or ("narration" if seg.sieve == "user" else "?"))
            if colour:
                who.stylize(colour)
            if uncertain(seg):
                marker = Text("?", style="bold black on yellow")
            elif moved:
                marker = Text("↻", style="bold magenta")
            elif seg.sieve == "user":
                marker = Text("•", style="bold")
        elif seg.kind == "heading":
            body.stylize("bold")
        elif seg.kind == "skip":
            who = Text("not read" if not read else "read", style="italic")
        if not read:
            body.stylize("dim strike")
            if seg.kind != "skip":
                who = Text("skipped", style="italic")
        elif seg.kind == "skip":
            body.stylize("dim")
        # Columns by hand, wrapped here: a Rich table per line makes long chapters slow.
        who.truncate(WHO_WIDTH, overflow="ellipsis", pad=True)
        out = Text.assemble(marker, " ", who, " ")
        indent = " " * (WHO_WIDTH + 3)
        for n, part in enumerate(body.wrap(self.app.console, width)):
            if n:
                out.append("\n" + indent)
            out.append_text(part)
        out.rstrip()
        return out

    def _describe(self) -> None:
        s, seg = self.session, self.current_segment()
        detail = self.query_one("#line-detail", Static)
        if s is None or seg is None:
            detail.update("")
            return
        if not s.is_read(seg):
            detail.update("Not read aloud: x to read this passage")
            return
        if seg.kind != "dialogue":
            detail.update(f"{seg.kind}, read by {s.casting.narrator.name}")
            return
        if not s.settled and seg.sieve != "user":
            detail.update("Finding who speaks…")
            return
        who = seg.speaker or "narration voice"
        how = "your choice" if seg.sieve == "user" else f"{seg.confidence:.2f} {seg.sieve or ''}"
        if s.was_moved(seg):
            how += " · changed by your last fix (u undoes)"
        elif uncertain(seg):
            how += " · enter accepts, s changes"
        detail.update(
            Text.assemble((who, "bold"), f" · {s.voice_of(seg.speaker).name} · {how.strip()}")
        )

    # --- where we are -------------------------------------------------------------

    def current_index(self) -> int | None:
        """Global index of the highlighted segment."""
        h = self.lines.highlighted if self.shown else None
        return self.shown[h] if h is not None and 0 <= h < len(self.shown) else None

    def current_segment(self) -> Segment | None:
        i = self.current_index()
        return None if i is None or self.session is None else self.session.script.segments[i]

    def go_to(self, index: int) -> None:
        """Show the segment with this global index, switching chapter if needed."""
        s = self.session
        if s is None:
            return
        seg = s.script.segments[index]
        if seg.chapter != self.chapter:
            self.chapter = seg.chapter
            with self.chapters.prevent(OptionList.OptionHighlighted):
                self.chapters.highlighted = self.chapter
            self._fill_lines()
        self.lines.highlighted = self.shown.index(index)
        self.lines.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "chapters" and event.option_index != self.chapter:
            self.chapter = event.option_index
            self._fill_lines()
        elif event.option_list.id == "lines":
            self._describe()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "chapters":
            self.lines.focus()
        else:
            self.action_accept()

    # --- actions ------------------------------------------------------------------

    def action_focus_chapters(self) -> None:
        self.chapters.focus()

    def action_focus_lines(self) -> None:
        self.lines.focus()

    def _jump(self, step: int) -> None:
        s = self.session
        if s is None:
            return
        segs = s.script.segments
        here = self.current_index()
        if here is None:
            here = -1 if step > 0 else len(segs)
        order = range(here + 1, len(segs)) if step > 0 else range(here - 1, -1, -1)
        target = next((i for i in order if uncertain(segs[i])), None)
        if target is None:
            self.notify("No uncertain line " + ("after" if step > 0 else "before") + " this one.")
            return
        self.go_to(target)

    def action_next_uncertain(self) -> None:
        self._jump(1)

    def action_prev_uncertain(self) -> None:
        self._jump(-1)

    def action_speaker(self) -> None:
        s, seg = self.session, self.current_segment()
        if s is None or seg is None:
            return
        if seg.kind != "dialogue":
            self.notify("Only lines inside quotes have a speaker; pick a dialogue line.")
            return
        choices = [Choice(NARRATION_CHOICE, "(narration voice)", s.casting.narrator.name)]
        choices += [
            Choice(c.name, c.name, f"{c.lines} lines · {s.voice_of(c.name).name}")
            for c in s.script.characters
        ]
        current = seg.speaker if seg.speaker is not None else NARRATION_CHOICE
        excerpt = " ".join(seg.text.split())
        excerpt = excerpt if len(excerpt) <= 40 else excerpt[:39] + "…"

        def chosen(value: str | None) -> None:
            if value is None:
                return
            who = value[len(NEW) :] if value.startswith(NEW) else value or None
            label = who or "the narration voice"
            self.post_message(Decide(lambda s: s.reassign(seg, who), f"line given to {label}"))

        self.app.push_screen(
            PickerScreen(
                f"Who says “{excerpt}”?", choices, current=current, allow_new="New character: {}"
            ),
            chosen,
        )

    def action_accept(self) -> None:
        """Agree with the guess: it stays put from now on; go on to the next doubt.
        On a line already settled, enter changes it instead."""
        s, seg = self.session, self.current_segment()
        if s is None or seg is None or seg.kind != "dialogue":
            return
        if seg.sieve == "user":
            self.action_speaker()
            return
        label = seg.speaker or "the narration voice"
        self.post_message(Decide(lambda s: s.accept(seg), f"kept: {label}"))
        here = self.current_index()
        after = [i for i in range(here + 1, len(s.script.segments))] if here is not None else []
        nxt = next((i for i in after if uncertain(s.script.segments[i])), None)
        if nxt is not None:
            self.go_to(nxt)

    def action_toggle_read(self) -> None:
        seg = self.current_segment()
        if seg is None:
            return

        def flip(s: Session) -> str:
            return "passage will be read" if s.toggle_read(seg) else "passage skipped"

        self.post_message(Decide(flip))
