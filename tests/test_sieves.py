"""One short original passage per attribution sieve: it answers right, and says which
sieve decided."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audiobook.analyze import analyze
from audiobook.model import Character, Script
from audiobook.sidecar import Sidecar, SpeakerFix, save_sidecar, sidecar_path


def said(script: Script, words: str) -> tuple[str | None, str | None]:
    for s in script.segments:
        if s.kind == "dialogue" and words in s.text:
            return s.speaker, s.sieve
    raise AssertionError(f"no dialogue containing {words!r}")


CASES = [
    # (passage, quote words, speaker, sieve)
    ('Nora Quill looked up.\n\n"Tea," said Nora.\n', "Tea", "Nora Quill", "tag-name"),
    ('"Tea," Nora Quill said softly.\n', "Tea", "Nora Quill", "tag-name"),
    ('Nora Quill said, "Tea, then."\n', "Tea, then", "Nora Quill", "tag-name"),
    (
        'Nora Quill set the pot down. "Tea?" she asked.\n',
        "Tea?",
        "Nora Quill",
        "tag-pronoun",
    ),
    (
        'I poured the milk myself. "Enough," I said. I said it twice.\n',
        "Enough",
        "Narrator",
        "tag-first-person",
    ),
    (
        "Brother Anselm knelt in the mud and Nora Quill watched him.\n\n"
        '"Nearly done," said the old man.\n',
        "Nearly done",
        "Brother Anselm",
        "tag-epithet",
    ),
    (
        'Mr. Dunmore read the letter twice while Mrs. Dunmore waited.\n\n"Well?" said his wife.\n',
        "Well?",
        "Mrs. Dunmore",
        "tag-nominal",
    ),
    ('"Tickets!" cried the conductor.\n', "Tickets", "the conductor", "tag-nominal"),
    (
        '"It was raining," Nora Quill said. "It rained all night."\n',
        "rained all night",
        "Nora Quill",
        "paragraph",
    ),
    (
        'Ansel Brooke pushed the door open. "Anyone home?"\n\n"Only me," said Nora Quill.\n',
        "Anyone home",
        "Ansel Brooke",
        "beat",
    ),
    (
        "Ansel Brooke pushed the door open and Nora Quill looked up.\n\n"
        "He shook the rain off his hat.\n\n"
        '"Is there tea?"\n',
        "Is there tea",
        "Ansel Brooke",
        "previous-beat",
    ),
]


@pytest.mark.parametrize(("text", "words", "speaker", "sieve"), CASES)
def test_sieve(
    write_story: Callable[..., Path], text: str, words: str, speaker: str, sieve: str
) -> None:
    assert said(analyze(write_story(text)), words) == (speaker, sieve)


def test_continued_quotation(write_story: Callable[..., Path]) -> None:
    text = (
        'Nora Quill folded her hands. "The first winter was the worst.\n\n'
        '"By the second we had learned," she said.\n'
    )
    s = analyze(write_story(text))
    assert said(s, "first winter") == ("Nora Quill", "continued")


TALK = (
    "Ansel Brooke met Nora Quill at the gate.\n\n"
    '"You came," said Ansel.\n\n'
    '"I said I would," said Nora.\n\n'
    '"Through all that rain?"\n\n'
    '"Rain never stopped me."\n\n'
    '"No, Ansel, it never did," she added. "Nothing does."\n\n'
    '"Is that a complaint, Nora?"\n\n'
    '"Would I complain?"\n'
)


def test_turn_taking_and_vocative(write_story: Callable[..., Path]) -> None:
    s = analyze(write_story(TALK))
    assert said(s, "Through all that rain") == ("Ansel Brooke", "turn-taking")
    assert said(s, "Rain never stopped") == ("Nora Quill", "turn-taking")
    assert said(s, "Is that a complaint")[0] == "Ansel Brooke"
    # "Is that a complaint, Nora?" addresses Nora: the reply is hers.
    assert said(s, "Would I complain") == ("Nora Quill", "vocative")


def test_two_party_conversation_from_one_tag(write_story: Callable[..., Path]) -> None:
    text = (
        "Ansel Brooke found Nora Quill by the stove.\n\n"
        '"Cold out," said Ansel.\n\n'
        '"Colder in here."\n\n'
        '"Then come out."\n\n'
        '"Not likely."\n'
    )
    s = analyze(write_story(text))
    assert [said(s, w)[0] for w in ("Colder", "Then come", "Not likely")] == [
        "Nora Quill",
        "Ansel Brooke",
        "Nora Quill",
    ]


def test_user_fix_steers_alternating_neighbours(write_story: Callable[..., Path]) -> None:
    text = (
        "Ansel Brooke and Nora Quill sat by the stove.\n\n"
        '"Cold out."\n\n'
        '"Colder in here."\n\n'
        '"Then come out."\n\n'
        '"Not likely."\n'
    )
    story = write_story(text)
    before = analyze(story)
    first = next(s for s in before.segments if s.kind == "dialogue")
    save_sidecar(
        Sidecar(
            path=sidecar_path(story),
            fixes=[SpeakerFix(first.start, first.end, "Nora Quill", first.text)],
        )
    )
    s = analyze(story)
    assert said(s, "Cold out") == ("Nora Quill", "user")
    assert said(s, "Colder")[0] == "Ansel Brooke"
    assert said(s, "Then come")[0] == "Nora Quill"


def test_line_given_to_narration_voice_stays_there(write_story: Callable[..., Path]) -> None:
    text = 'Nora Quill looked up.\n\n"Tea," said Nora.\n'
    story = write_story(text)
    seg = next(s for s in analyze(story).segments if s.kind == "dialogue")
    save_sidecar(
        Sidecar(path=sidecar_path(story), fixes=[SpeakerFix(seg.start, seg.end, None, seg.text)])
    )
    assert said(analyze(story), "Tea") == (None, "user")


def test_unresolved_tag_is_not_overruled(write_story: Callable[..., Path]) -> None:
    text = (
        "Ansel Brooke and Nora Quill waited.\n\n"
        '"Cold out," said Ansel.\n\n'
        '"Colder in here," said her cousin.\n\n'
        '"Then come out," said Ansel.\n'
    )
    roster = [
        Character("Ansel Brooke", ["Ansel"], "male"),
        Character("Nora Quill", ["Nora"], "female"),
    ]
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Colder") == (None, "tag-unresolved")


def test_pronoun_for_someone_unnamed_stays_with_the_narrator(
    write_story: Callable[..., Path],
) -> None:
    text = (
        'I found Ned Corliss on the rocks.\n\n'
        '"I saw the light," Ned whispered.\n\n'
        "My father carried him up the stair. Later, my father sat beside me.\n\n"
        '"Now you know," he said quietly.\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Now you know") == (None, "tag-unresolved")
