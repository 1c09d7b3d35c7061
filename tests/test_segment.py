"""segment.segment: narration/dialogue split, quote styles, numbering."""

from __future__ import annotations

from pathlib import Path

from audiobook.model import Document, Segment
from audiobook.segment import segment
from audiobook.structure import build


def segs(text: str, fmt: str = "text", read_front_matter: bool = False) -> list[Segment]:
    doc = Document(path=Path("story.txt"), format=fmt, text=text)  # type: ignore[arg-type]
    return segment(doc, build(doc, read_front_matter=read_front_matter))


def pairs(text: str, **kw: object) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in segs(text, **kw)]  # type: ignore[arg-type]


def test_straight_quotes() -> None:
    assert pairs('"Come in," said Mara, "and shut the door."') == [
        ("dialogue", "Come in,"),
        ("narration", "said Mara,"),
        ("dialogue", "and shut the door."),
    ]


def test_curly_quotes_and_apostrophes_in_double_quoted_text() -> None:
    text = "“Don’t touch the Joneses’ gate,” she said. It’s ’em or us, rock ’n’ roll."
    assert pairs(text) == [
        ("dialogue", "Don’t touch the Joneses’ gate,"),
        ("narration", "she said. It’s ’em or us, rock ’n’ roll."),
    ]


def test_single_quote_dialogue_with_apostrophes() -> None:
    text = (
        "‘I don’t know,’ said Ellen. ‘The Joneses’ dog ate ’em all.’\n\n"
        "‘’Tis a shame,’ Tom replied, and hummed some rock ’n’ roll.\n\n"
        "‘He told me “run”, so I ran,’ she said."
    )
    assert pairs(text) == [
        ("dialogue", "I don’t know,"),
        ("narration", "said Ellen."),
        ("dialogue", "The Joneses’ dog ate ’em all."),
        ("dialogue", "’Tis a shame,"),
        ("narration", "Tom replied, and hummed some rock ’n’ roll."),
        ("dialogue", "He told me “run”, so I ran,"),
        ("narration", "she said."),
    ]


def test_straight_single_quote_dialogue() -> None:
    text = "'Mind the step,' said Ellen, 'it's loose.'\n\n'Em and 'tis aren't quotes, she thought."
    assert pairs(text) == [
        ("dialogue", "Mind the step,"),
        ("narration", "said Ellen,"),
        ("dialogue", "it's loose."),
        ("narration", "'Em and 'tis aren't quotes, she thought."),
    ]


def test_single_quotes_are_not_dialogue_in_double_quoted_text() -> None:
    text = '"Fine," he said.\n\nShe called it a \'holiday\'.\n\n"Go," she said.'
    kinds = pairs(text)
    assert ("narration", "She called it a 'holiday'.") in kinds
    assert [k for k, _ in kinds].count("dialogue") == 2


def test_nested_quotes_stay_in_outer_dialogue() -> None:
    assert pairs("\"She said 'never', and meant it,\" Tom said.") == [
        ("dialogue", "She said 'never', and meant it,"),
        ("narration", "Tom said."),
    ]


def test_multi_paragraph_quotation_is_continued() -> None:
    text = (
        '"It began in the spring, when the ice went out.\n\n'
        '"By summer the whole valley knew," she finished. Silence.\n\n'
        '"Well?" he said.'
    )
    out = segs(text)
    assert [(s.kind, s.text, s.sieve) for s in out] == [
        ("dialogue", "It began in the spring, when the ice went out.", None),
        ("dialogue", "By summer the whole valley knew,", "continued"),
        ("narration", "she finished. Silence.", None),
        ("dialogue", "Well?", None),
        ("narration", "he said.", None),
    ]
    assert [s.paragraph for s in out] == [0, 1, 1, 2, 2]


def test_unclosed_quote_ends_at_paragraph_end() -> None:
    text = '"Wait for me, he called.\n\nNobody waited.'
    out = segs(text)
    assert [(s.kind, s.text, s.sieve) for s in out] == [
        ("dialogue", "Wait for me, he called.", None),
        ("narration", "Nobody waited.", None),
    ]


def test_stray_straight_quote_in_curly_text_is_ignored() -> None:
    text = '“It was " nothing,” she said. “Really.”'
    assert pairs(text) == [
        ("dialogue", 'It was " nothing,'),
        ("narration", "she said."),
        ("dialogue", "Really."),
    ]
    # Outside a quotation the stray mark must not open one either.
    text2 = 'She paused " at the door. “Coming?” he asked.'
    assert pairs(text2) == [
        ("narration", 'She paused " at the door.'),
        ("dialogue", "Coming?"),
        ("narration", "he asked."),
    ]


def test_interrupted_speech_gives_two_dialogue_segments() -> None:
    assert pairs('"Lois, I…" "S-smallville, you…"') == [
        ("dialogue", "Lois, I…"),
        ("dialogue", "S-smallville, you…"),
    ]


def test_punctuation_only_narration_is_dropped() -> None:
    assert pairs('"Yes" — "No" , "Maybe."') == [
        ("dialogue", "Yes"),
        ("dialogue", "No"),
        ("dialogue", "Maybe."),
    ]


def test_inch_mark_is_not_a_quote() -> None:
    assert pairs('He was 6\'2" tall and "very" proud.') == [
        ("narration", "He was 6'2\" tall and"),
        ("dialogue", "very"),
        ("narration", "proud."),
    ]


def test_dialogue_across_wrapped_lines_is_one_segment() -> None:
    text = (
        'He leaned over the rail. "If the fog lifts we will see the\nlights of the town," he said.'
    )
    out = segs(text)
    assert out[1].kind == "dialogue"
    assert out[1].text == "If the fog lifts we will see the\nlights of the town,"


def test_headings_breaks_front_and_numbering() -> None:
    text = (
        "Summary: a short one.\n\n"
        "# Chapter 1 #\n\nFirst.\n\n* * *\n\nSecond.\n\noOo\n\nThird.\n\n"
        "CHAPTER II.\n\nA/N: hello there\n\nFourth."
    )
    out = segs(text)
    assert [(s.kind, s.text, s.chapter, s.scene) for s in out] == [
        ("skip", "Summary: a short one.", 0, 0),
        ("heading", "Chapter 1", 0, 0),
        ("narration", "First.", 0, 0),
        ("narration", "Second.", 0, 1),
        ("skip", "oOo", 0, 2),
        ("narration", "Third.", 0, 2),
        ("heading", "CHAPTER II.", 1, 0),
        ("skip", "A/N: hello there", 1, 0),
        ("narration", "Fourth.", 1, 0),
    ]
    numbers = [s.paragraph for s in out]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert all(s.speaker is None and s.confidence == 0.0 for s in out)


def test_read_front_matter_speaks_notes() -> None:
    text = "Summary: a short one.\n\nChapter 1\n\nFirst."
    assert pairs(text, read_front_matter=True)[0] == ("narration", "Summary: a short one.")


def test_segments_are_deterministic_and_sliced_from_text() -> None:
    text = "Chapter 1\n\n“Hi,” she said.\n\n'Bye,' he said.\n"
    a, b = segs(text), segs(text)
    assert a == b
    assert all(s.text == text[s.start : s.end] for s in a)


def test_single_quote_quotation_over_two_paragraphs() -> None:
    text = "‘It began in spring.\n\n‘By summer we knew,’ she said.\n\n‘Quite.’"
    out = segs(text)
    assert [(s.kind, s.text, s.sieve) for s in out] == [
        ("dialogue", "It began in spring.", None),
        ("dialogue", "By summer we knew,", "continued"),
        ("narration", "she said.", None),
        ("dialogue", "Quite.", None),
    ]
