"""speech.spoken_text: the words handed to the TTS engine (normalised, then the lexicon)."""

from __future__ import annotations

import pytest

from audiobook.model import Segment, SegmentKind
from audiobook.speech import spoken_text
from audiobook.text.lexicon import Entry, Lexicon


def say(text: str, kind: SegmentKind = "narration", lexicon: Lexicon | None = None) -> str:
    return spoken_text(Segment(kind, 0, len(text), text, 0), lexicon)


def test_wrapped_lines_join_and_whitespace_collapses() -> None:
    assert say("The fog\nclosed   in,\n  thick\tand grey.") == "The fog closed in, thick and grey."


def test_markdown_emphasis_is_dropped() -> None:
    assert say("She was **very** sure, _quite_ *sure*.") == "She was very sure, quite sure."
    assert say("a snake_case name") == "a snake_case name"


def test_dashes_become_pauses_and_ellipses_do_not_glue_words() -> None:
    # espeak pauses at "—" but not at "--", and reads "no...stop" as one word.
    assert say("Wait -- no... stop…") == "Wait — no — stop…"


@pytest.mark.parametrize(
    ("heading", "spoken"),
    [
        ("CHAPTER IV.", "Chapter four."),
        ("Chapter XIV: The Long Night", "Chapter fourteen: The Long Night."),
        ("Part III", "Part three."),
        ("Chapter 103: Breakdown", "Chapter one hundred three: Breakdown."),
        ("Ch. 2", "Chapter two."),
        ("CHAPTER 7", "Chapter seven."),
        ("PROLOGUE", "Prologue."),
        ("Who Goes There?", "Who Goes There?"),
        ("## The Crossing", "The Crossing."),
        ("Morning\n=======", "Morning."),
    ],
)
def test_headings(heading: str, spoken: str) -> None:
    assert say(heading, "heading") == spoken


def test_nothing_speakable() -> None:
    assert say("— … —") == ""
    assert say("* * *", "heading") == ""
    assert say("Summary: not read.", "skip") == ""


def test_dialogue_keeps_its_punctuation() -> None:
    assert say("Lois, I…", "dialogue") == "Lois, I…"


def test_the_lexicon_applies_after_normalising() -> None:
    lex = Lexicon([Entry("Kal-El", "Kal El", "story")])
    # shouting and emphasis are undone first, so the entry still matches
    assert say("*KAL-EL!*", "dialogue", lex) == "Kal El!"
    assert say("Kal-El's cape", lexicon=lex) == "Kal El's cape"


def test_without_a_lexicon_the_built_in_entries_apply() -> None:
    assert say("Shh, he said.") == "[[ ʃːː ]], he said."
    assert say("Shh, he said.", lexicon=Lexicon()) == "Shh, he said."
