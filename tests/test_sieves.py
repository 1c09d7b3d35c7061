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
        "I found Ned Corliss on the rocks.\n\n"
        '"I saw the light," Ned whispered.\n\n'
        "My father carried him up the stair. Later, my father sat beside me.\n\n"
        '"Now you know," he said quietly.\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Now you know") == (None, "tag-unresolved")


def test_wrapped_line_that_starts_with_a_quote_stays_in_its_paragraph(
    write_story: Callable[..., Path],
) -> None:
    # Blank lines part the paragraphs; a hard wrap that happens to begin with a
    # quotation mark is not a new speaker's turn.
    text = (
        "Nora Quill came in out of the rain.\n\n"
        "Ansel Brooke looked up from the fire.\n\n"
        '"You are late," said Ansel.\n\n'
        '"The ferry was slow," said Nora, shaking out her wet coat.\n'
        '"And the road was worse."\n\n'
        "Ansel poured the tea.\n\n"
        "The kettle sang on the hob.\n"
    )
    assert said(analyze(write_story(text)), "road was worse") == ("Nora Quill", "paragraph")


def test_definite_nominal_tag_is_placed_by_the_conversation(
    write_story: Callable[..., Path],
) -> None:
    text = (
        "Ansel Brooke waited at the slip while Tobias Hale tied up the ferry.\n\n"
        '"Cold out," said Ansel.\n\n'
        '"Colder on the water," said the ferryman.\n\n'
        '"Then come ashore," said Ansel.\n'
    )
    roster = [
        Character("Ansel Brooke", ["Ansel"], "male"),
        Character("Tobias Hale", ["Tobias"], "male"),
    ]
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Colder") == ("Tobias Hale", "conversation")


def test_pronoun_tag_of_a_reply_is_the_one_addressed(write_story: Callable[..., Path]) -> None:
    text = (
        "Tobias Hale stood by the window. Mr. Brannock sat near the door.\n\n"
        '"What are you two whispering about, Tobias?" asked Nora Quill.\n\n'
        '"The weather," said he.\n'
    )
    assert said(analyze(write_story(text)), "The weather") == ("Tobias Hale", "tag-pronoun")


def test_pronoun_tag_skips_whom_the_quote_addresses(write_story: Callable[..., Path]) -> None:
    text = (
        "Nora Quill and Wenna Hale walked home along the cliff path.\n\n"
        "After a while Nora stopped.\n\n"
        '"You are quiet tonight, Nora," she said.\n'
    )
    assert said(analyze(write_story(text)), "quiet tonight") == ("Wenna Hale", "tag-pronoun")


def test_lowercase_epithet_is_not_a_piece_of_a_name(write_story: Callable[..., Path]) -> None:
    # "the old gentleman" is not "Old Sally": lowercase words name someone only as a
    # whole alias.
    text = (
        "Mr. Brannock came in. Old Sally swept the step.\n\n"
        '"Sit down, boy," said the old gentleman.\n'
    )
    roster = [
        Character("Mr. Brannock", [], "male"),
        Character("Mrs. Thorne", ["Old Sally"], "female"),
    ]
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Sit down") == ("Mr. Brannock", "tag-epithet")


def test_conversation_after_a_short_beat_keeps_alternating(
    write_story: Callable[..., Path],
) -> None:
    text = (
        '"Forgive me," Ansel said.\n\n'
        '"Forgive you?" said Nora.\n\n'
        "The clock ticked.\n\n"
        '"I was wrong."\n\n'
        '"You were."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "I was wrong") == ("Ansel", "conversation")
    assert said(s, "You were") == ("Nora", "conversation")


def test_other_voice_of_a_conversation_is_the_last_speaker(
    write_story: Callable[..., Path],
) -> None:
    text = (
        '"Is the boat in?" asked Nora Quill.\n\n'
        '"Not yet," said Ansel Brooke.\n\n'
        "Wenna Hale and Tobias Hale came down the path to the harbour with the nets.\n\n"
        '"Has anyone seen the boat?" Nora asked.\n\n'
        '"Not since noon."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Not since noon") == ("Ansel Brooke", "conversation")


def test_previous_beat_takes_the_last_subject(write_story: Callable[..., Path]) -> None:
    text = (
        '"It was a fine day," said Wenna Hale.\n\n'
        '"It was," said Nora Quill.\n\n'
        "Wenna smiled at the sea; but Nora turned away from the window.\n\n"
        '"I must go."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "I must go") == ("Nora Quill", "previous-beat")


def test_tag_with_adverb_phrase_and_addressee(write_story: Callable[..., Path]) -> None:
    text = (
        "Nora Quill looked at the letter. Wenna Hale said very stiffly to Nora,\n\n"
        '"You should not have opened it."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "should not have") == ("Wenna Hale", "tag-name")


def test_epithet_tag_of_a_reply_is_the_one_addressed(write_story: Callable[..., Path]) -> None:
    text = (
        "Tobias Hale stood by the window. Mr. Brannock sat near the door.\n\n"
        '"Are you cold, Tobias?" asked Nora Quill.\n\n'
        '"A little," said the old man.\n'
    )
    assert said(analyze(write_story(text)), "A little") == ("Tobias Hale", "tag-epithet")


def test_subject_pronouns_carry_their_referent_forward(write_story: Callable[..., Path]) -> None:
    walk = "She walked on past the fields and the low stone walls of the farms. " * 50
    text = f'Nora Quill set out at dawn.\n\n{walk}\n\n"Nearly there," she said.\n'
    assert said(analyze(write_story(text)), "Nearly there") == ("Nora Quill", "tag-pronoun")
