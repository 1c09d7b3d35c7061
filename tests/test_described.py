"""A character the narration names by a description and the others call by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from audiobook.analyze import analyze
from audiobook.sidecar import Sidecar, SpeakerFix, save_sidecar, sidecar_path

# The narration says "the tinker"; whoever answers him calls him Jory; Jory also
# speaks under his own name. Two chapters, so one scene's habit is not mistaken for
# who he is.
CHAPTER = (
    "Chapter {n}\n\n"
    "Jory Penrose set his pack down by the well, and Wenna came out to him.\n\n"
    '"Pots to mend?" said the tinker.\n\n'
    '"Not today, Jory," said Wenna.\n\n'
    '"Knives, then?" said the tinker.\n\n'
    '"None, Jory," said Wenna. "Go on with you."\n\n'
    '"A cup of water for the road?" said the tinker.\n\n'
    '"Drink, then, Jory," said Wenna, "and be off."\n\n'
    '"You are hard, mistress," said Jory, laughing.\n\n'
)


def test_a_description_the_replies_call_by_name_is_that_person(
    write_story: Callable[..., Path],
) -> None:
    s = analyze(write_story(CHAPTER.format(n=1) + CHAPTER.format(n=2)))
    cast = {c.name: c for c in s.characters}
    assert "the tinker" not in cast
    jory = next(c for c in s.characters if "Jory" in (c.name, *c.aliases))
    assert "the tinker" in jory.aliases
    pots = next(x for x in s.segments if x.text.startswith("Pots to mend"))
    assert pots.speaker == jory.name


def test_one_chapters_calls_are_not_enough(write_story: Callable[..., Path]) -> None:
    s = analyze(write_story(CHAPTER.format(n=1)))
    assert "the tinker" in {c.name for c in s.characters}


def test_a_description_the_user_gave_a_line_to_stays(write_story: Callable[..., Path]) -> None:
    story = write_story(CHAPTER.format(n=1) + CHAPTER.format(n=2))
    pots = next(x for x in analyze(story).segments if x.text.startswith("Pots to mend"))
    fix = SpeakerFix(pots.start, pots.end, "the tinker", pots.text)
    save_sidecar(Sidecar(path=sidecar_path(story), fixes=[fix]))
    s = analyze(story)
    assert "the tinker" in {c.name for c in s.characters}
