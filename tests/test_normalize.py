"""normalize: what the voice is given to say, table-driven, plus a property that no
word with letters is ever lost (markup aside)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiobook.model import Segment, SegmentKind
from audiobook.speech import spoken_text
from audiobook.text.lexicon import Lexicon
from audiobook.text.normalize import cardinal, is_markup, normalize, ordinal, substituted, year

N: SegmentKind = "narration"
D: SegmentKind = "dialogue"
H: SegmentKind = "heading"

# (kind, what the story says, what the voice is given)
TABLE: list[tuple[SegmentKind, str, str]] = [
    # times
    (N, "It was 10:45 AM when she left.", "It was ten forty-five A M when she left."),
    (N, "We met at 9 p.m. Then we left.", "We met at nine P M. Then we left."),
    (N, "Be there at 9am.", "Be there at nine A M."),
    (N, "at 10:00 sharp", "at ten o'clock sharp"),
    (N, "The train left at 14:30.", "The train left at fourteen thirty."),
    (N, "at 10:05 pm", "at ten oh five P M"),
    (D, "It's 11:59 PM.", "It's eleven fifty-nine P M."),
    # dates and years
    (N, "It was March 3, 2024.", "It was March third, twenty twenty-four."),
    (N, "On 3 March 1999 we met.", "On the third of March, nineteen ninety-nine we met."),
    (N, "It was the 4th of July, 1776.", "It was the fourth of July, seventeen seventy-six."),
    (N, "On Jan. 5 we left.", "On January fifth we left."),
    (N, "Due 12/25/2024", "Due December twenty-fifth, twenty twenty-four"),
    (N, "Filed 2024-03-15.", "Filed March fifteenth, twenty twenty-four."),
    (N, "He was born in 1905.", "He was born in nineteen oh five."),
    (N, "In the year 2000, we", "In the year two thousand, we"),
    (N, "the 1990s and the '80s", "the nineteen nineties and the eighties"),
    (N, "in 44 BC", "in forty-four B C"),
    (N, "1990–1995", "nineteen ninety to nineteen ninety-five"),
    # numbers, ordinals, currency, units
    (N, "She had 3 cats and 12 dogs.", "She had three cats and twelve dogs."),
    (N, "1,234 people", "one thousand two hundred thirty-four people"),
    (N, "1,000,000 stars", "one million stars"),
    (N, "pi is 3.14", "pi is three point one four"),
    (N, "007 agent", "zero zero seven agent"),
    (N, "It was -5 out.", "It was minus five out."),
    (N, "He was 1st, she was 22nd.", "He was first, she was twenty-second."),
    (N, "They were 3rd.", "They were third."),
    (N, "the 101st floor", "the one hundred first floor"),
    (N, "It cost $5.50 today.", "It cost five dollars and fifty cents today."),
    (N, "It cost $1 and £20.", "It cost one dollar and twenty pounds."),
    (N, "a €3.20 coffee", "a three euros and twenty cents coffee"),
    (N, "$1.5 million", "one point five million dollars"),
    (N, "He paid $20,000.", "He paid twenty thousand dollars."),
    (N, "5¢ only", "five cents only"),
    (N, "50% off", "fifty percent off"),
    (N, "It was 30°C outside.", "It was thirty degrees Celsius outside."),
    (N, "10 km away at 60 mph", "ten kilometres away at sixty miles per hour"),
    (N, "He was 6'2\" tall.", "He was six foot two tall."),
    (N, "1/2 the pie, 3/4 of them", "one half the pie, three quarters of them"),
    (D, "Open 24/7.", "Open twenty-four seven."),
    (N, "No. 5 and #1", "number five and number one"),
    (N, "Call 555-1234 now", "Call five five five, one two three four now"),
    # abbreviations and honorifics
    (N, "Mr. Smith and Mrs. Jones met Dr. Who.", "Mister Smith and Missus Jones met Doctor Who."),
    (N, "Mr Smith arrived.", "Mister Smith arrived."),
    (N, "St. John was there.", "Saint John was there."),
    (N, "He lives on Baker St. now.", "He lives on Baker Street now."),
    (N, "She moved to 12 Elm Dr. Later, she", "She moved to twelve Elm Drive. Later, she"),
    (N, "Capt. Jack and Lt. Dan", "Captain Jack and Lieutenant Dan"),
    (N, "cats, dogs, etc. are pets", "cats, dogs, et cetera are pets"),
    (N, "cats, dogs, etc.", "cats, dogs, et cetera."),
    (N, "apples vs. oranges", "apples versus oranges"),
    (N, "e.g. this, i.e. that", "for example this, that is that"),
    (N, "the U.S.A. and J.R.R. Tolkien", "the U S A and J R R Tolkien"),
    # Roman numerals
    (H, "CHAPTER IV", "Chapter four."),
    (H, "Chapter XIV: The Long Night", "Chapter fourteen: The Long Night."),
    (H, "Book ix - Ashes", "Book nine — Ashes."),
    (H, "Chapter 103: Breakdown", "Chapter one hundred three: Breakdown."),
    (H, "Ch. 2", "Chapter two."),
    (H, "PROLOGUE", "Prologue."),
    (H, "## The Crossing", "The Crossing."),
    (H, "Morning\n=======", "Morning."),
    (N, "I said Chapter IV was dull.", "I said Chapter four was dull."),
    (N, "The Book I read was long.", "The Book I read was long."),
    (N, "Henry VIII and Elizabeth II", "Henry the Eighth and Elizabeth the Second"),
    (N, "After World War II and WWI", "After World War Two and World War One"),
    # emphasis and markup
    (N, "She was **very** sure, _quite_ *sure*.", "She was very sure, quite sure."),
    (N, "a snake_case name", "a snake_case name"),
    (H, "Chapter 1: *Rain*", "Chapter one: Rain."),
    (N, "He said <b>no</b>.", "He said no."),
    (N, "a [link](http://example.com) here[1].", "a link here."),
    (N, "Hello~ ~world~", "Hello world"),
    (N, "~ * ~ * ~", ""),
    # shouting and acronyms
    (D, "STOP RIGHT THERE!", "Stop right there!"),
    (D, "IT IS MINE.", "It is mine."),
    (D, "He is three days old, Jor. THREE DAYS.", "He is three days old, Jor. Three days."),
    (D, "KAL-EL!", "Kal-El!"),
    (N, "The FBI agents came for the US army.", "The FBI agents came for the US army."),
    (D, "LET US GO", "Let us go"),
    (D, "I need it ASAP!", "I need it ASAP!"),
    # pauses
    (N, "Wait -- no... stop…", "Wait — no — stop…"),
    (D, "Wait... Maybe not.", "Wait. Maybe not."),
    (D, "I... I don't know.", "I — I don't know."),
    (D, "Lois, I…", "Lois, I…"),
    (N, "(Mar-El, our son.)", "Mar-El, our son."),
    (N, "He smiled (a rare thing) and left.", "He smiled, a rare thing, and left."),
    (D, "Really?!?!", "Really?"),
    (N, "— … —", ""),
    # stutters
    (D, "S-smallville isn't going anywhere.", "Sma-Smallville isn't going anywhere."),
    (D, "I l-loved it here.", "I lo-loved it here."),
    (D, "W-w-what?", "Wha-wha-what?"),
    (D, "B-but I thought", "Bu-but I thought"),
    (D, "I-I can't", "I-I can't"),
    (N, "She re-read it; co-conspirators met.", "She re-read it; co-conspirators met."),
    # OCR slips
    (D, "Why haven't 1?", "Why haven't I?"),
    (D, "[ haven't seen it.", "I haven't seen it."),
    (D, "1 think so.", "I think so."),
    (D, "l'm fine and l said no.", "I'm fine and I said no."),
    (N, "It c0uld be.", "It could be."),
    (D, "I don 't know.", "I don't know."),
]


@pytest.mark.parametrize(("kind", "text", "spoken"), TABLE, ids=[t[1][:40] for t in TABLE])
def test_table(kind: SegmentKind, text: str, spoken: str) -> None:
    seg = Segment(kind, 0, len(text), text, 0)
    assert spoken_text(seg, Lexicon()) == spoken


def test_the_table_is_big_enough() -> None:
    assert len(TABLE) >= 60


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (99, "ninety-nine"),
        (100, "one hundred"),
        (2024, "two thousand twenty-four"),
        (1_000_001, "one million one"),
        (10**15, "one zero zero zero zero zero zero zero zero zero zero zero zero zero zero zero"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert cardinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "first"), (2, "second"), (5, "fifth"), (12, "twelfth"), (20, "twentieth"),
     (21, "twenty-first"), (100, "one hundredth"), (103, "one hundred third")],
)  # fmt: skip
def test_ordinal(n: int, words: str) -> None:
    assert ordinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1066, "ten sixty-six"), (1900, "nineteen hundred"), (1905, "nineteen oh five"),
     (2000, "two thousand"), (2008, "two thousand eight"), (2010, "twenty ten")],
)  # fmt: skip
def test_year(n: int, words: str) -> None:
    assert year(n) == words


def test_story_text_cannot_switch_piper_to_phonemes() -> None:
    assert "[[" not in normalize("He typed [[ hello ]] and [[x]]")
    assert "]]" not in normalize("He typed [[ hello ]] and [[x]]")


def test_markup_tokens() -> None:
    assert is_markup("<i>") and is_markup("[12]") and is_markup("**")
    assert not is_markup("word") and not is_markup("[Kal]")


# --- the property: no word with letters is lost ------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüñ"
word = st.text(alphabet=LETTERS, min_size=1, max_size=9)
markup = st.sampled_from(["*", "**", "_", "~", "`", "[1]", "<i>", "</i>", "<br/>", "#", ">"])
noise = st.sampled_from(
    ["--", "...", "…", "(", ")", "—", "-", ",", ".", "!", "?", '"', "“", "'", "&", ":", ";"]
)
number = st.sampled_from(["$5", "£3.50", "10:45", "1st", "3.5", "50%", "1999", "7", "1,200"])
piece = st.one_of(
    word.map(lambda w: ("word", w)),
    word.map(lambda w: ("stutter", f"{w[0]}-{w}")),
    word.map(lambda w: ("shout", w.upper())),
    markup.map(lambda m: ("markup", m)),
    noise.map(lambda m: ("noise", m)),
    number.map(lambda m: ("number", m)),
)


def _letters(s: str) -> str:
    return "".join(c for c in s.casefold() if c.isalpha())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(piece, min_size=1, max_size=20),
    st.lists(st.sampled_from([" ", "\n", " ", ", "]), min_size=20, max_size=20),
    st.sampled_from(["narration", "dialogue", "heading"]),
)
def test_no_word_with_letters_is_dropped(
    pieces: list[tuple[str, str]], gaps: list[str], kind: SegmentKind
) -> None:
    text = "".join(p + g for (_, p), g in zip(pieces, gaps, strict=False))
    said = _letters(spoken_text(Segment(kind, 0, len(text), text, 0), Lexicon()))
    at = 0
    for what, p in pieces:
        if what in ("markup", "noise", "number"):
            continue
        w = p.split("-")[-1]
        if substituted(w) or not re.search("[^\\W\\d_]", w):
            continue
        found = said.find(_letters(w), at)
        assert found >= 0, (text, w, said)
        at = found + len(_letters(w))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_normalises_without_phoneme_blocks(text: str) -> None:
    said = normalize(text)
    assert "[[" not in said and "]]" not in said
    assert said == said.strip()
