"""speech.spoken_text: the words handed to the TTS engine."""

from __future__ import annotations

import pytest

from audiobook.model import Segment, SegmentKind
from audiobook.speech import spoken_text


def say(text: str, kind: SegmentKind = "narration") -> str:
    return spoken_text(Segment(kind, 0, len(text), text, 0))


def test_wrapped_lines_join_and_whitespace_collapses() -> None:
    assert say("The fog\nclosed   in,\n  thick\tand grey.") == "The fog closed in, thick and grey."


def test_markdown_emphasis_is_dropped() -> None:
    assert say("She was **very** sure, _quite_ *sure*.") == "She was very sure, quite sure."
    assert say("a snake_case name") == "a snake_case name"


def test_dashes_and_ellipses() -> None:
    assert say("Wait -- no... stop…") == "Wait — no... stop…"


@pytest.mark.parametrize(
    ("heading", "spoken"),
    [
        ("CHAPTER IV.", "Chapter 4."),
        ("Chapter XIV: The Long Night", "Chapter 14: The Long Night."),
        ("Part III", "Part 3."),
        ("Book ix - Ashes", "Book 9 - Ashes."),
        ("Chapter 103: Breakdown", "Chapter 103: Breakdown."),
        ("Ch. 2", "Chapter 2."),
        ("CHAPTER 7", "Chapter 7."),
        ("PROLOGUE", "Prologue."),
        ("Who Goes There?", "Who Goes There?"),
        ("## The Crossing", "The Crossing."),
        ("Morning\n=======", "Morning."),
        ("Chapter 1: *Rain*", "Chapter 1: Rain."),
    ],
)
def test_headings(heading: str, spoken: str) -> None:
    assert say(heading, "heading") == spoken


def test_roman_numerals_outside_headings_are_kept() -> None:
    assert say("I said Chapter IV was dull.") == "I said Chapter IV was dull."


def test_nothing_speakable() -> None:
    assert say("— … —") == ""
    assert say("* * *", "heading") == ""
    assert say("Summary: not read.", "skip") == ""


def test_dialogue_keeps_its_punctuation() -> None:
    assert say("Lois, I…", "dialogue") == "Lois, I…"
