"""The one sentence splitter: offsets into the text, no break after a title."""

from __future__ import annotations

from audiobook.segment import MAX_SEGMENT_CHARS, _pieces
from audiobook.text.sentences import (
    ends_sentence,
    sentence_ends_at,
    sentence_spans,
    sentence_starts_at,
)


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_sentences_keep_their_offsets_and_closing_quotes() -> None:
    text = '  "Where is Mr. Quill?" Odile asked.  Lt. Marr shrugged! Then… nothing'
    assert _sentences(text) == [
        '"Where is Mr. Quill?"',
        "Odile asked.",
        "Lt. Marr shrugged!",
        "Then…",
        "nothing",
    ]
    assert sentence_spans(text)[0] == (2, 23)


def test_initials_and_a_window_of_the_text() -> None:
    text = "It was J. R. Vance. He left."
    assert _sentences(text) == ["It was J. R. Vance.", "He left."]
    assert sentence_spans(text, 7, 19) == [(7, 19)]
    assert sentence_spans("") == [] and sentence_spans("   ") == []


def test_clauses_end_at_semicolons_and_dashes_too() -> None:
    text = "He set it down; and, leaning back, said?--Mr. Ashby laughed."
    assert [text[a:b] for a, b in sentence_spans(text, clauses=True)] == [
        "He set it down;",
        "and, leaning back, said?",
        "Mr. Ashby laughed.",
    ]
    assert len(sentence_spans(text)) == 1


def test_line_and_position_questions_agree_with_the_splitter() -> None:
    assert ends_sentence('She left."') and ends_sentence("He was cut off—”")
    assert not ends_sentence("Love, Ann") and not ends_sentence("~Sam")
    text = "Bring pens, ink, etc. Then go."
    assert sentence_ends_at(text, text.index("etc.") + 4)
    assert sentence_starts_at(text, text.index("Then"))
    assert not sentence_starts_at(text, text.index("ink"))


def test_a_long_paragraph_is_cut_at_a_sentence_end() -> None:
    sentence = "The tide came in, slow and grey, over the flats. "
    text = sentence * (3 * MAX_SEGMENT_CHARS // len(sentence))
    pieces = _pieces(text, 0, len(text.rstrip()))
    assert len(pieces) > 1
    assert all(b - a <= MAX_SEGMENT_CHARS for a, b in pieces)
    assert all(text[a:b].endswith("flats.") for a, b in pieces)
