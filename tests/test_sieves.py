"""One short original passage per attribution sieve: it answers right, and says which
sieve decided."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audiobook.analyze import analyze
from audiobook.characters import NameIndex
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
    ('"Come back!" suddenly cried Nora Quill. "Back!"\n', "Come back", "Nora Quill", "tag-name"),
    ('"Not a penny more," was the firm reply of Nora Quill.\n', "penny", "Nora Quill", "tag-name"),
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


def test_other_voice_weighs_the_last_partner_over_a_newcomer(
    write_story: Callable[..., Path],
) -> None:
    # The fitted other-voice table: one who has just traded tagged lines with the
    # asker outweighs someone the narration only brought on (the hand rule alone
    # picked the newcomer; on the annotated novels the partner is right more often).
    text = (
        '"Is the boat in?" asked Nora Quill.\n\n'
        '"Not yet," said Ansel Brooke.\n\n'
        "Tobias Hale came down the path to the harbour with the nets.\n\n"
        '"Has anyone seen the boat?" Nora asked.\n\n'
        '"Not since noon."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Not since noon") == ("Ansel Brooke", "conversation")


def test_other_voice_of_a_conversation_is_the_last_speaker(
    write_story: Callable[..., Path],
) -> None:
    # Nobody new acts before the question: the one who answered before answers again.
    text = (
        '"Is the boat in?" asked Nora Quill.\n\n'
        '"Not yet," said Ansel Brooke.\n\n'
        "The wind came round to the north and the nets were hung to dry.\n\n"
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


# -- rules added for issue #3 -------------------------------------------------------

ROSTER = [
    Character("Ansel Brooke", ["Ansel"], "male"),
    Character("Tobias Hale", ["Tobias"], "male"),
    Character("Nora Quill", ["Nora"], "female"),
    Character("Wenna Hale", ["Wenna", "Miss Hale"], "female"),
]


def test_added_goes_on_with_the_last_speaker(write_story: Callable[..., Path]) -> None:
    # "she added" continues her own speech: not the other woman, Wenna.
    text = (
        "Wenna Hale came in with the bread and set it down by Nora Quill.\n\n"
        '"The ferry is late again," said Nora.\n\n'
        '"And the post with it," she added.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "post with it") == ("Nora Quill", "tag-pronoun")


def test_added_after_someone_else_comes_in_is_a_plain_pronoun(
    write_story: Callable[..., Path],
) -> None:
    text = (
        "Nora Quill sat by the stove.\n\n"
        '"The ferry is late again," said Nora.\n\n'
        "Wenna Hale came in with the bread and set it down.\n\n"
        '"And the post with it," she added.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "post with it")[0] == "Wenna Hale"


def test_other_voice_is_not_taken_across_a_chapter(write_story: Callable[..., Path]) -> None:
    # Ansel spoke last in chapter one; chapter two sets a new scene with Tobias.
    text = (
        "# One\n\n"
        '"Goodnight," said Ansel Brooke.\n\n'
        "# Two\n\n"
        "In the morning Nora Quill walked down to the harbour with Tobias Hale.\n\n"
        '"Cold," said Nora.\n\n'
        '"Colder on the water."\n'
    )
    s = analyze(write_story(text, "story.md"))
    assert said(s, "Colder on the water") == ("Tobias Hale", "conversation")


def test_paragraphs_of_one_long_quotation_are_one_turn(
    write_story: Callable[..., Path],
) -> None:
    # Tobias tells a story over three paragraphs; the reply after it is Nora's.
    text = (
        "Nora Quill sat down by Tobias Hale.\n\n"
        '"Tell me about the wreck," said Nora.\n\n'
        '"It was a black night, and the wind came round at midnight.\n\n'
        '"By dawn she was on the rocks."\n\n'
        '"And the crew?"\n\n'
        '"Every one of them saved."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "And the crew")[0] == "Nora Quill"
    assert said(s, "Every one of them")[0] == "Tobias Hale"


FIRST_PERSON = (
    "I met Wenna Hale on the quay, and we walked up the hill together. I carried her "
    "basket for her and I told her about my week. The sun was warm on my face.\n\n"
    '"You look tired, Tom," said Wenna.\n\n'
    '"I slept badly."\n\n'
    '"Again, Tom?"\n\n'
    '"Again."\n\n'
    "I took her arm at the stile and helped her over.\n\n"
    '"Thank you, Tom."\n\n'
    '"Watch the step, Tom," she said. "It is loose."\n\n'
    '"I know it, Wenna."\n\n'
    '"Then mind it, Tom."\n'
)


def test_first_person_narrator_takes_the_name_the_others_call_him(
    write_story: Callable[..., Path],
) -> None:
    roster = [Character("Tom Penrose", ["Tom"], "male"), Character("Wenna Hale", ["Wenna"])]
    s = analyze(write_story(FIRST_PERSON), roster=roster)
    tom = next(c for c in s.characters if c.name == "Tom Penrose")
    assert tom.narrator
    assert all(c.name != "Narrator" for c in s.characters)
    assert said(s, "I slept badly")[0] == "Tom Penrose"


def test_discovered_narrator_learns_the_name_as_an_alias(
    write_story: Callable[..., Path],
) -> None:
    s = analyze(write_story(FIRST_PERSON))
    narrator = next(c for c in s.characters if c.narrator)
    assert "Tom" in narrator.aliases


def test_a_short_story_names_its_narrator_with_one_call(
    write_story: Callable[..., Path],
) -> None:
    # Once is enough in a few hundred words, for a first name ("Tom"); a capitalised
    # one-word question ("Harbour?") names nobody.
    text = (
        "I met Wenna Hale on the quay, and we walked up the hill together. I carried her "
        "basket and I told her about my week.\n\n"
        '"Harbour?" I asked.\n\n'
        '"Harbour," said Wenna. "You look tired, Tom."\n\n'
        '"I slept badly," I said.\n'
    )
    narrator = next(c for c in analyze(write_story(text)).characters if c.narrator)
    assert narrator.aliases == ["Tom"]


def test_the_narrator_is_never_he(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Tom Penrose", ["Tom"], "male"),
        Character("Wenna Hale", ["Wenna"], "female"),
        Character("Ned Corliss", ["Ned"], "male"),
    ]
    text = (
        FIRST_PERSON + "\nNed Corliss came up the hill behind us.\n\n"
        '"Morning, Ned," I said. "Have you seen the boat?" he asked.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "seen the boat") == ("Ned Corliss", "tag-pronoun")


def test_title_noun_goes_to_the_holder_in_the_scene(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("The Doctor", [], "male"),
        Character("Mr. Pascoe", ["Doctor Pascoe"], "male"),
        Character("Nora Quill", ["Nora"], "female"),
    ]
    text = (
        "Mr. Pascoe came up the stairs with his bag, and Nora Quill showed him in.\n\n"
        '"Where is the patient?" said the doctor.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Where is the patient") == ("Mr. Pascoe", "tag-nominal")


def test_so_saying_is_not_a_tag(write_story: Callable[..., Path]) -> None:
    text = (
        "Ansel Brooke ran to the gate.\n\n"
        '"They went this way!" said Ansel. "Follow me!" So saying, he leapt the wall.\n'
    )
    assert said(analyze(write_story(text)), "Follow me") == ("Ansel Brooke", "paragraph")


def test_the_former_names_the_first_of_two(write_story: Callable[..., Path]) -> None:
    text = (
        "When Wenna Hale and Nora Quill were alone, the former, who had said little all "
        "evening, turned to her friend.\n\n"
        '"He means to stay," said she.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "He means to stay") == ("Wenna Hale", "tag-pronoun")


def test_name_after_a_capitalised_opener_is_still_found(
    write_story: Callable[..., Path],
) -> None:
    # "When Nora" is not a name, but Nora is in it.
    text = (
        "Wenna Hale had gone out. When Nora Quill came down, the kitchen was cold.\n\n"
        '"Nobody lit the fire," she said.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Nobody lit the fire") == ("Nora Quill", "tag-pronoun")


def test_her_mother_when_her_is_nobody_we_can_name(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Mrs. Dunmore", ["Mrs. Dunmore"], "female"),
        Character("Mr. Dunmore", [], "male"),
    ]
    text = (
        "Mrs. Dunmore sat sewing; Mr. Dunmore read; his youngest daughter trimmed a hat.\n\n"
        '"Very pretty, child," he said.\n\n'
        '"We shall never wear it," said her mother sharply.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "never wear it") == ("Mrs. Dunmore", "tag-nominal")


def test_vocative_of_a_line_placed_by_turn_taking(write_story: Callable[..., Path]) -> None:
    # The third line is placed by turn-taking; it calls Tobias, so Tobias answers it,
    # though strict alternation would say Ansel.
    text = (
        "Ansel Brooke, Nora Quill and Tobias Hale sat at the table.\n\n"
        '"More tea?" said Ansel.\n\n'
        '"Please," said Nora.\n\n'
        '"And you, Tobias?"\n\n'
        '"None for me."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "None for me") == ("Tobias Hale", "vocative")


def test_sir_is_no_name(write_story: Callable[..., Path]) -> None:
    roster = [*ROSTER, Character("Sir", [], "male")]
    text = (
        "Ansel Brooke stood at the door of the inn with Nora Quill.\n\n"
        '"A room for the night," said Ansel.\n\n'
        '"Yes, Sir," said Nora.\n\n'
        '"And supper."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "And supper")[0] == "Ansel Brooke"


def test_title_and_surname_call_means_someone_in_the_scene(
    write_story: Callable[..., Path],
) -> None:
    # "Miss Hale" is Wenna's alias, but Wenna left long ago: it is Nora being called.
    far = "The road ran on between the hedges and the fields. " * 80
    text = (
        "Wenna Hale waved and went home.\n\n"
        f"{far}\n\n"
        "Nora Quill met Tobias Hale at the mill.\n\n"
        '"Good evening, Miss Hale," said Tobias.\n\n'
        '"Good evening."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Good evening.")[0] == "Nora Quill"


def test_narration_says_whom_a_line_is_for(write_story: Callable[..., Path]) -> None:
    text = (
        "Ansel Brooke, Nora Quill and Tobias Hale sat at the table.\n\n"
        '"More tea?" Ansel asked Tobias.\n\n'
        '"If there is any."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "If there is any") == ("Tobias Hale", "vocative")


def test_definite_epithet_in_narration_carries_a_pronoun(
    write_story: Callable[..., Path],
) -> None:
    # "The young woman" is Nora; "she said" follows her, not the unnamed someone.
    text = (
        "Nora Quill stood on the quay.\n\n"
        '"You are early," said Ansel Brooke.\n\n'
        "The young woman glanced at the sky.\n\n"
        '"The tide waits for nobody," she said.\n'
    )
    s = analyze(write_story(text))
    assert said(s, "tide waits") == ("Nora Quill", "tag-pronoun")


def test_last_speaker_is_back_when_the_paragraph_names_them(
    write_story: Callable[..., Path],
) -> None:
    text = (
        "Ansel Brooke and Tobias Hale sat by the fire.\n\n"
        '"Late," said Tobias.\n\n'
        '"Very," said Ansel.\n\n'
        'Ansel was the first to break the silence. "Shall we go?" he said.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Shall we go") == ("Ansel Brooke", "tag-pronoun")


def test_tag_before_takes_the_subject_that_acts(write_story: Callable[..., Path]) -> None:
    text = (
        "Hearing Ansel Brooke mention the dance to Nora Quill, Wenna Hale turned to him "
        "and said,\n\n"
        '"You are not serious?"\n'
    )
    assert said(analyze(write_story(text)), "not serious") == ("Wenna Hale", "tag-name")


def test_her_ladyship(write_story: Callable[..., Path]) -> None:
    roster = [*ROSTER, Character("Lady Pendarves", [], "female")]
    text = (
        "Lady Pendarves received Nora Quill in the long room.\n\n"
        '"You are late," said Nora.\n\n'
        '"I am never late," replied her ladyship.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "never late") == ("Lady Pendarves", "tag-nominal")


def test_silence_hands_the_turn_back(write_story: Callable[..., Path]) -> None:
    text = (
        "Nora Quill sat with Ansel Brooke.\n\n"
        '"Will you come?" asked Nora.\n\n'
        "Ansel said nothing.\n\n"
        '"I shall go alone, then."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "go alone") == ("Nora Quill", "previous-beat")


def test_a_silence_that_ends_is_no_bar(write_story: Callable[..., Path]) -> None:
    # "For a long moment" he kept quiet: then he speaks, and the beat in his own
    # paragraph says so.
    text = (
        "Nora Quill sat with Ansel Brooke. Ansel nodded and lit his pipe.\n\n"
        '"Will you come?" asked Nora.\n\n'
        "For a long moment he didn't say anything. Then his shoulders dropped.\n\n"
        '"Fine." He stood up. "I will."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Fine.") == ("Ansel Brooke", "beat")


def test_whose_voice_it_is_speaks(write_story: Callable[..., Path]) -> None:
    # Okoro is never a sentence's subject, only the owner of a voice over the radio.
    text = (
        "Nora Quill sat at the console. The radio crackled.\n\n"
        '"Deck two, do you copy?" Okoro\'s voice was faint. "We have a leak."\n\n'
        'Nora keyed the switch. "How bad?"\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Deck two") == ("Okoro", "beat")
    assert said(s, "We have a leak") == ("Okoro", "beat")


def test_whose_hand_it_is_speaks(write_story: Callable[..., Path]) -> None:
    # "His fingers tightened": he acts in his own paragraph, though she acted last.
    text = (
        "Nora Quill sat by the bed where Ansel Brooke lay very still.\n\n"
        '"Ansel?" Nora leaned closer.\n\n'
        "She took his hand.\n\n"
        '"Stay." His fingers tightened around hers. "Please."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Stay.") == ("Ansel Brooke", "beat")


def test_a_sentence_that_opens_with_then_has_its_own_subject(
    write_story: Callable[..., Path],
) -> None:
    # "Then Nora leans over." is about Nora, not about a person called "Then Nora", and
    # "Then he …" about him, not about someone called "Then".
    text = (
        "Ansel Brooke works in silence for a while. He almost enjoys it. "
        "Then Nora Quill leans over.\n\n"
        '"You know this is your fault."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "your fault") == ("Nora Quill", "previous-beat")


def test_a_beat_that_opens_with_a_phrase(write_story: Callable[..., Path]) -> None:
    # "Fighting back tears, she …": the subject comes after the opening phrase.
    text = (
        "Ansel Brooke waited by the door while Nora Quill packed.\n\n"
        '"You could stay," said Ansel.\n\n'
        '"I could." Fighting back tears, she closed the case. "I won\'t."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "I could.") == ("Nora Quill", "beat")


def test_a_name_alone_at_the_start_is_an_answer(write_story: Callable[..., Path]) -> None:
    text = (
        "Ansel Brooke met Nora Quill at the fair.\n\n"
        '"What are you called?" said Ansel.\n\n'
        '"Nora. And you?"\n\n'
        '"Ansel."\n\n'
        '"That is a strange name."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Nora. And you")[0] == "Nora Quill"
    assert said(s, "Ansel.")[0] == "Ansel Brooke"
    assert said(s, "strange name")[0] == "Nora Quill"


def test_a_name_alone_after_the_speakers_tag_is_a_call(
    write_story: Callable[..., Path],
) -> None:
    # "Nora." after Ansel's own tag calls her; the reply is hers, though three people
    # are in the room and Mira spoke before him.
    roster = [*ROSTER, Character("Mira Dane", ["Mira"], "female")]
    text = (
        "Nora Quill, Ansel Brooke and Mira Dane sat round the fire.\n\n"
        '"It is late," said Mira.\n\n'
        '"Hey," Ansel said. "Nora."\n\n'
        '"Leave it. I am fine."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Leave it") == ("Nora Quill", "vocative")


def test_a_name_that_is_a_sentence_of_its_own_is_a_call(
    write_story: Callable[..., Path],
) -> None:
    # "Ah. Nora." greets her: the answer is hers, not the other woman's in the room.
    roster = [*ROSTER, Character("Mira Dane", ["Mira"], "female")]
    text = (
        "Nora Quill came in late. Mira Dane was already at her desk.\n\n"
        "Ansel Brooke looked up from his papers.\n\n"
        '"Ah. Nora. Good of you to come."\n\n'
        '"The bus was late."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "bus was late")[0] == "Nora Quill"


def test_saying_to_herself(write_story: Callable[..., Path]) -> None:
    text = (
        "Nora Quill sat by the window.\n\n"
        "Tobias Hale went out. She looked at the door a long while, and then, saying to "
        'herself "He will be back," she sat down again.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "He will be back") == ("Nora Quill", "tag-pronoun")


def test_her_uncle_is_the_one_man_in_the_scene(write_story: Callable[..., Path]) -> None:
    roster = [*ROSTER, Character("Mr. Pascoe", [], "male")]
    text = (
        "Nora Quill walked in the garden with Mr. Pascoe.\n\n"
        '"The roses are late," said Nora.\n\n'
        '"They always are," replied her uncle.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "They always are") == ("Mr. Pascoe", "tag-nominal")


def test_his_companion_is_the_other_one_there(write_story: Callable[..., Path]) -> None:
    text = (
        "Tobias Hale walked the cliff path with Ansel Brooke.\n\n"
        '"Rain by noon," said Tobias.\n\n'
        '"Before," said his companion.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Before") == ("Ansel Brooke", "tag-nominal")


def test_a_first_name_two_people_share_goes_to_the_one_in_the_scene(
    write_story: Callable[..., Path],
) -> None:
    roster = [
        Character("Harry Pike", ["Harry"], "male"),
        Character("Harry Vane", ["Harry"], "male"),
        Character("Nora Quill", ["Nora"], "female"),
    ]
    text = 'Harry Vane rowed Nora Quill across to the island.\n\n"Nearly there," said Harry.\n'
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Nearly there") == ("Harry Vane", "tag-name")


def test_description_in_the_cast_is_a_mention(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Griffin", ["The Stranger"], "male"),
        Character("Mrs. Hall", [], "female"),
        Character("Mr. Hall", [], "male"),
    ]
    text = (
        "Mr. Hall went out to the yard.\n\n"
        "Mrs. Hall set the tray down. In the chair by the fire the stranger sat on with "
        "his book.\n\n"
        '"Will you take tea?" she asked.\n\n'
        '"No," he said.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "No,") == ("Griffin", "tag-pronoun")


def test_a_description_is_not_pieces_of_a_name() -> None:
    index = NameIndex([Character("The Old Woman", [], "female"), Character("A Canary")])
    assert index.resolve("the woman") is None  # "the woman" may be anyone
    assert index.resolve("the old woman") == "The Old Woman"
    assert index.resolve("the Canary") == "A Canary"


def test_title_noun_goes_to_the_holder_met_earlier_in_the_chapter(
    write_story: Callable[..., Path],
) -> None:
    roster = [
        Character("The Doctor", [], "male"),
        Character("Mr. Pascoe", ["Doctor Pascoe"], "male"),
        Character("Nora Quill", ["Nora"], "female"),
    ]
    filler = "The rain went on against the glass, and the clock ticked in the hall. " * 60
    text = (
        "Mr. Pascoe came up the stairs with his bag, and Nora Quill showed him in.\n\n"
        f"{filler}\n\n"
        '"Where is the patient?" said the doctor.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Where is the patient") == ("Mr. Pascoe", "tag-nominal")


def test_the_agent_of_a_passive_is_the_subject(write_story: Callable[..., Path]) -> None:
    text = (
        "Tobias Hale read the letter aloud.\n\n"
        "The last part was scarcely heard by Ansel Brooke, whose eyes had gone to "
        "Tobias Hale across the room.\n\n"
        '"It will not do," he said.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "It will not do") == ("Ansel Brooke", "tag-pronoun")


def test_her_mother_of_the_one_the_line_calls(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Elizabeth Bennet", ["Lizzy"], "female"),
        Character("Mrs. Bennet", [], "female"),
        Character("Charlotte Lucas", [], "female"),
    ]
    text = (
        "Charlotte Lucas laughed at Elizabeth Bennet across the card table.\n\n"
        '"Another time, Lizzy," said her mother, "you will not dance with him."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Another time") == ("Mrs. Bennet", "tag-nominal")


def test_other_voice_is_the_last_speaker_across_a_long_beat(
    write_story: Callable[..., Path],
) -> None:
    filler = "The tide came in slowly over the flats, and the gulls went up from the sand. " * 25
    text = (
        '"Is the boat in?" asked Nora Quill.\n\n'
        '"Not yet," said Ansel Brooke.\n\n'
        f"{filler}A cart went by with a barrel for Tobias Hale.\n\n"
        '"Shall we wait?" asked Nora.\n\n'
        '"A little longer."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "A little longer") == ("Ansel Brooke", "conversation")


def test_description_with_a_detail_names_the_cast_member_so_described(
    write_story: Callable[..., Path],
) -> None:
    # "the man with the beard" is the roster's "The Man With The Grey Beard", not
    # whichever man the bare "the man" would reach.
    roster = [
        Character("Tobias Hale", ["The Man"], "male"),
        Character("The Man With The Grey Beard", [], "male"),
    ]
    text = (
        'Tobias Hale barred the door.\n\n"Let me in," said the man with the grey beard.\n\n'
        '"Who is it?" asked Tobias Hale.\n\n"A friend," said the man with the beard. "Open up."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Let me in") == ("The Man With The Grey Beard", "tag-nominal")
    assert said(s, "A friend") == ("The Man With The Grey Beard", "tag-nominal")


def test_beat_by_a_title_the_cast_answers_to(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Nora Quill", ["Nora"], "female"),
        Character("Count Orsini", ["the count"], "male"),
        Character("Ansel Brooke", ["Ansel"], "male"),
    ]
    text = (
        '"Drink your wine," said Nora.\n\n'
        '"Mr. Brooke," the count filled the glass again. "She is always right."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "She is always right") == ("Count Orsini", "beat")


def test_their_father_and_her_daughter(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Mr. Dunmore", [], "male"),
        Character("Mrs. Dunmore", [], "female"),
        Character("Ellen Dunmore", ["Ellen"], "female"),
        Character("Kate Dunmore", ["Kate"], "female"),
    ]
    text = (
        "Ellen Dunmore came down to breakfast with the letter.\n\n"
        '"Read it aloud," said their father, "for I cannot make it out."\n\n'
        "Mrs. Dunmore sat by the fire with Ellen.\n\n"
        '"It is only the rain," said her daughter.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Read it aloud") == ("Mr. Dunmore", "tag-nominal")
    assert said(s, "only the rain") == ("Ellen Dunmore", "tag-nominal")


def test_epithet_nobody_answers_to_still_says_a_woman(write_story: Callable[..., Path]) -> None:
    # No woman has been named yet: "the young lady" is unknown, but she is no man of
    # the alternation either.
    text = (
        '"Is it far?" asked Tobias Hale.\n\n'
        '"Not far," said Ansel Brooke.\n\n'
        '"Randolph," said the young lady, "what are you doing?"\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "what are you doing")[0] not in ("Tobias Hale", "Ansel Brooke")


def test_speech_opened_at_the_end_of_a_paragraph_with_a_quote_in_it(
    write_story: Callable[..., Path],
) -> None:
    text = (
        'Nora Quill would only say that she "wished them joy." As they went down the '
        "stairs, Wenna said,\n\n"
        '"I shall write to you often."\n\n'
        '"Certainly," Tobias Hale replied. Nora hoped she had silenced him; but he soon '
        "afterwards said,\n\n"
        '"I was surprised to see Ansel in town."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "write to you often") == ("Wenna Hale", "tag-name")
    assert said(s, "surprised to see Ansel") == ("Tobias Hale", "tag-pronoun")


def test_someone_acting_between_two_quotes_speaks_the_second(
    write_story: Callable[..., Path],
) -> None:
    text = (
        '"Thanks, old man," Tobias Hale said. Ansel Brooke shook his head. "I have to '
        'file the story tonight."\n\n'
        '"Was I rude?" Nora Quill asked. Ansel was gone. "I only meant it kindly."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Thanks, old man") == ("Tobias Hale", "tag-name")
    assert said(s, "file the story") == ("Ansel Brooke", "beat")
    assert said(s, "meant it kindly") == ("Nora Quill", "paragraph")  # "was gone" is no act


def test_whom_a_line_was_said_to_is_not_the_reply_when_they_spoke_in_it(
    write_story: Callable[..., Path],
) -> None:
    text = (
        '"Is the boat in?" asked Ansel Brooke.\n\n'
        '"You have the best view here," Tobias Hale said to Nora. She raised her hand. '
        '"Oh, stop it!"\n\n'
        '"You will be rich."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Oh, stop it") == ("Nora Quill", "beat")
    assert said(s, "You will be rich")[0] != "Nora Quill"


def test_an_epithet_tag_is_not_whom_the_tag_names_besides(
    write_story: Callable[..., Path],
) -> None:
    text = (
        "Tobias Hale ate his bread slowly while the strange boy watched him.\n\n"
        '"Going to the harbour?" said the strange boy, when Tobias Hale had finished.\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Going to the harbour")[0] != "Tobias Hale"


def test_someones_relative_in_a_tag(write_story: Callable[..., Path]) -> None:
    # "Wenna's mamma" is Mrs. Hale, and "Nora's friend" is anyone but Nora.
    roster = [*ROSTER, Character("Mrs. Hale", [], "female")]
    text = (
        "Mrs. Hale and Wenna Hale sat with Nora Quill by the fire.\n\n"
        '"We shall go to Truro," answered Wenna\'s mamma.\n\n'
        '"And I shall stay," said Nora\'s friend.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "go to Truro") == ("Mrs. Hale", "tag-nominal")
    assert said(s, "I shall stay")[0] != "Nora Quill"


def test_relatives_of_a_described_person_and_of_her(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Tobias Hale", ["the keeper"], "male"),
        Character("Mrs. Hale", [], "female"),
        Character("Mr. Quill", [], "male"),
        Character("Nora Quill", ["Nora"], "female"),
    ]
    text = (
        "Tobias Hale came in from the lamp with Mrs. Hale behind him.\n\n"
        '"Supper is cold," said the keeper\'s wife.\n\n'
        "Mr. Quill and Nora Quill walked up from the harbour.\n\n"
        '"To be sure, Nora," said her aunt, "the tide is late."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Supper is cold") == ("Mrs. Hale", "tag-nominal")
    assert said(s, "the tide is late")[0] != "Nora Quill"  # the one she calls is not her


def test_a_one_letter_slip_of_a_cast_name_in_a_tag(write_story: Callable[..., Path]) -> None:
    text = 'Nora Quill sat down.\n\n"Tea," said Norra.\n'
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "Tea") == ("Nora Quill", "tag-name")


def test_a_title_in_the_narration_mentions_its_one_holder(
    write_story: Callable[..., Path],
) -> None:
    roster = [*ROSTER, Character("Count Orsini", ["the count"], "male")]
    text = (
        '"Is the boat in?" asked Nora Quill.\n\n'
        "Tobias Hale went out. The count stood up.\n\n"
        '"Very nice," he said. "You looked very nice."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Very nice") == ("Count Orsini", "tag-pronoun")


def test_whom_the_beat_turns_to_is_the_other_voice(write_story: Callable[..., Path]) -> None:
    text = (
        '"Who is she?" Ansel Brooke asked.\n\n'
        "Nora Quill turned to Wenna Hale, who sat smiling by the fire.\n\n"
        '"I do not like the town. It is dirty."\n\n'
        '"Really? I find it so clean."\n\n'
        '"I find it dirty."\n\n'
        '"How strange!"\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "I do not like the town")[0] == "Nora Quill"
    assert said(s, "I find it so clean")[0] == "Wenna Hale"
    assert said(s, "How strange")[0] == "Wenna Hale"


def test_the_speaker_says_who_they_are(write_story: Callable[..., Path]) -> None:
    text = (
        '"Who are you?" asked Tobias Hale.\n\n'
        "The stranger sat down by the fire.\n\n"
        '"I am Ansel Brooke, of the lifeboat station. You knew my father."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "I am Ansel Brooke") == ("Ansel Brooke", "self-named")


def test_a_name_after_a_preposition_is_no_subject(write_story: Callable[..., Path]) -> None:
    roster = [Character("Mrs. Dunmore", [], "female"), Character("Mr. Dunmore", [], "male")]
    text = (
        "The loss of her daughter made Mrs. Dunmore very dull for several days.\n\n"
        '"I often think," said she, "that nothing is so bad as parting with friends."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "I often think") == ("Mrs. Dunmore", "tag-pronoun")


def test_her_father_is_of_the_family_in_the_scene(write_story: Callable[..., Path]) -> None:
    # Kitty has no surname of her own; of the two men there, the father is the one
    # whose family (Mrs. Bennet) is in the scene too.
    roster = [
        Character("Kitty", [], "female"),
        Character("Mr. Bennet", [], "male"),
        Character("Mrs. Bennet", [], "female"),
        Character("Mr. Darcy", [], "male"),
    ]
    text = (
        "Mr. Bennet and Mrs. Bennet sat with Mr. Darcy by the fire.\n\n"
        '"And Lydia always wanted to go to London," added Kitty.\n\n'
        '"She is happy, then," said her father.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "She is happy") == ("Mr. Bennet", "tag-nominal")


def test_an_epithet_before_the_name_is_the_one_named_next(
    write_story: Callable[..., Path],
) -> None:
    # "the young lady" speaks before the story names her; the next woman it names for
    # the first time, a paragraph later, is her.
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("Wenna Pryce", ["Wenna"], "female"),
    ]
    text = (
        "Tobias Hale sat on the sea wall with his pipe.\n\n"
        "A young lady came along the quay with a basket of crabs.\n\n"
        '"Is this the road to the lighthouse?" said the young lady.\n\n'
        '"It is," said Tobias.\n\n'
        "Her name, he learned afterwards, was Wenna Pryce.\n"
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "road to the lighthouse") == ("Wenna Pryce", "tag-epithet")


def test_the_one_a_tag_speaks_to_answers(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("Wenna Pryce", [], "female"),
        Character("Nora Quill", ["Nora"], "female"),
    ]
    text = (
        '"The lamps are lit," said Tobias Hale, and went out.\n\n'
        'Wenna Pryce watched the window. "What does the vicar mean," said she to Nora, '
        '"by whistling so late?"\n\n'
        '"That is a question only the vicar can answer."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "only the vicar") == ("Nora Quill", "vocative")


def test_a_call_to_someone_away_leaves_the_one_turned_to(
    write_story: Callable[..., Path],
) -> None:
    # The line calls "Miss Hale", whom we can't place (her sister is far away); the
    # aside "turning to Nora" names whom the speaker faces, and she answers (the
    # fitted other-voice table weighs a name inside the run above the last to act).
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("Jenna Hale", ["Miss Hale"], "female"),
        Character("Wenna", [], "female"),
        Character("Lady Pryce", [], "female"),
        Character("Nora Quill", ["Nora"], "female"),
    ]
    far = "The summer went by and the harvest came in, and nobody wrote. " * 60
    text = (
        "Jenna Hale had gone to London.\n\n"
        + far
        + "\n\nLady Pryce sat with Nora Quill and Wenna by the fire.\n\n"
        '"Your father keeps no carriage, I think. For your sake," turning to Nora, '
        '"I am glad of it.--Do you sing, Miss Hale?"\n\n'
        '"A little."\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "A little")[0] == "Nora Quill"


def test_a_wrapped_line_does_not_start_a_sentence(write_story: Callable[..., Path]) -> None:
    # "to\nhis sister": the line break is the printer's, not a new sentence, so the
    # sister is no subject and "she" is still Wenna.
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("Wenna Pryce", [], "female"),
    ]
    text = (
        "When Tobias Hale came back to the harbour, Wenna Pryce turned and said what\n"
        "she had been meaning to say all the week to\n"
        "his sister.\n\n"
        '"You have not been fair to her," she cried.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "not been fair")[0] == "Wenna Pryce"


def test_someone_who_comes_in_before_the_story_names_him(
    write_story: Callable[..., Path],
) -> None:
    # "a stout old gentleman" walks in and speaks; the story names him (Mr. Penhale)
    # only afterwards, so "he cried" is him, not the host.
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("Mr. Penhale", [], "male"),
    ]
    text = (
        "Tobias Hale sat by the fire with his pipe.\n\n"
        "A stout old gentleman came in out of the rain, leaning on a thick stick.\n\n"
        '"Orange peel on the step again!" he cried. "I shall break my neck one day."\n\n'
        "This was how Mr. Penhale came into every house he visited.\n"
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Orange peel")[0] == "Mr. Penhale"


def test_a_relative_we_cannot_name_leaves_the_line_to_the_conversation(
    write_story: Callable[..., Path],
) -> None:
    # "Their mother" is someone in the cast we can't pin down from the phrase; "said
    # she" is hers, and the talk that follows shows who she is.
    roster = [
        Character("Ansel", [], "male"),
        Character("Wenna", [], "female"),
        Character("Mrs. Dunmore", [], "female"),
    ]
    text = (
        "Ansel and Wenna came home late from the fair.\n\n"
        "Their mother shared all their grief; she remembered the winter of the flood.\n\n"
        '"I am sure," said she, "I cried for two days together."\n\n'
        '"So you always tell us," said Wenna.\n\n'
        '"And I shall tell you again," said Mrs. Dunmore.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "I cried for two days")[0] == "Mrs. Dunmore"


def test_a_pronoun_tag_with_nobody_near_is_the_last_of_that_sex(
    write_story: Callable[..., Path],
) -> None:
    # Pages of the men's talk since Wenna was last named; "the girl" and "she said"
    # find no woman in sight, and Wenna is the woman the story was last about.
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("Ansel Brooke", [], "male"),
        Character("Wenna Pryce", [], "female"),
    ]
    men = (
        '"The nets are torn again," said Tobias Hale.\n\n'
        '"Then we mend them," said Ansel Brooke.\n\n'
        "The two men worked on through the long grey afternoon.\n\n"
    )
    text = (
        "Wenna Pryce went up to the cottage on the cliff.\n\n"
        + men * 25
        + "The girl was lying on the settle when he came in.\n\n"
        '"It is you, Tobias!" she said.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "It is you, Tobias")[0] == "Wenna Pryce"


def test_his_wife_is_the_cast_member_called_the_wife(write_story: Callable[..., Path]) -> None:
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("The Husband", [], "male"),
        Character("The Wife", [], "female"),
    ]
    text = (
        "A couple from Ohio shared the compartment with Tobias Hale.\n\n"
        '"We always wanted to get over," the husband said.\n\n'
        '"Mighty little you did about it," his wife said.\n'
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Mighty little") == ("The Wife", "tag-nominal")


def test_like_a_man_brings_in_nobody_new(write_story: Callable[..., Path]) -> None:
    # "like a man …" is a comparison, not an arrival: Mr. Penhale, named later for the
    # first time, is not "he".
    roster = [
        Character("Tobias Hale", [], "male"),
        Character("Mr. Penhale", [], "male"),
    ]
    text = (
        "The storm beat on Tobias Hale like a man beats a drum.\n\n"
        '"Hold fast!" he cried into the wind.\n\n'
        "Mr. Penhale came up the path an hour after, with a lantern.\n"
    )
    s = analyze(write_story(text), roster=roster)
    assert said(s, "Hold fast")[0] == "Tobias Hale"


@pytest.mark.parametrize(
    ("text", "words", "speaker"),
    [
        # Any past-tense verb after a quote that breaks off mid-sentence is its tag,
        # with or without a particle, in either order.
        ('"That is the reason!" pouted Wenna Pell.\n', "reason", "Wenna Pell"),
        ('"You never listen," Wenna Pell ground out.\n', "listen", "Wenna Pell"),
        ('"I only thought, maybe—" Wenna Pell trailed off.\n', "maybe", "Wenna Pell"),
        ('"Fine," snapped back Wenna Pell.\n', "Fine", "Wenna Pell"),
    ],
)
def test_quote_broken_off_mid_sentence_takes_any_past_verb_as_its_tag(
    write_story: Callable[..., Path], text: str, words: str, speaker: str
) -> None:
    s = analyze(write_story("Wenna Pell and Ansel Brooke sat by the fire.\n\n" + text))
    assert said(s, words) == (speaker, "tag-name")


def test_a_finished_quote_then_a_new_sentence_is_no_tag(
    write_story: Callable[..., Path],
) -> None:
    # After "." the capitalised name starts a sentence of its own: a beat, not a tag
    # (whoever it is, the verb is no evidence of speech).
    text = (
        "Wenna Pell and Ansel Brooke sat by the fire.\n\n"
        '"I am going out," said Ansel Brooke.\n\n'
        '"Go, then." Wenna Pell turned the page.\n'
    )
    _, sieve = said(analyze(write_story(text)), "Go, then")
    assert sieve not in ("tag-name", "tag-pronoun")


def test_by_saying_ends_the_subject_not_a_nominal(write_story: Callable[..., Path]) -> None:
    # "the strange fact of her being there by" is no speaker: the sentence's subject is.
    text = (
        "Ansel Brooke looked up from the ledger.\n\n"
        "Wenna Pell at once explained the strange fact of her being there by saying:\n\n"
        '"The office was open, so I came in."\n'
    )
    assert said(analyze(write_story(text)), "office was open") == ("Wenna Pell", "tag-name")


def test_line_no_rule_places_goes_to_whom_the_scene_named_last(
    write_story: Callable[..., Path],
) -> None:
    # Neither a tag nor a beat nor an alternation: the last person named who did not
    # speak the line before and is not spoken to, not the narrator's voice.
    text = (
        '"The tide turns at six," said Ansel Brooke.\n\n'
        "Outside, the gulls wheeled over the harbour where Nora Quill had moored the boat, "
        "and the light went grey.\n\n"
        '"Then we have an hour."\n'
    )
    s = analyze(write_story(text), roster=ROSTER)
    assert said(s, "we have an hour") == ("Nora Quill", "salient")


def test_someone_the_story_never_names_gets_a_voice_of_their_own(
    write_story: Callable[..., Path],
) -> None:
    # A first-person narrator talks with a man the story never names: his lines are
    # neither the narrator's nor nobody's, and the talk alternates with him.
    text = (
        "I had waited at the stop for an hour when the rain started.\n\n"
        "A man sat down on the bench beside me.\n\n"
        '"Cold night," he said.\n\n'
        '"I suppose."\n\n'
        '"Waiting for the twelve?"\n\n'
        '"Yes. It is late again," I said.\n\n'
        '"No," he said. "Not yet."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Cold night") == ("the man", "unnamed")
    assert said(s, "I suppose")[0] == "Narrator"
    assert said(s, "twelve")[0] == "the man"
    assert "the man" in {c.name for c in s.characters}
    # With a reviewed cast nobody is invented.
    roster = [Character("Nora Quill", [], "female")]
    assert said(analyze(write_story(text), roster=roster), "Cold night")[0] is None


def test_the_unnamed_speaker_speaks_where_the_beats_say_so(
    write_story: Callable[..., Path],
) -> None:
    # Once "she said" has given the unnamed woman a voice, "She ..." in a beat is her
    # too: before her first tag, after it, and across a different way of calling her
    # ("a girl", "the woman": still one person in one scene).
    text = (
        "A girl in a yellow coat stood at the rail when I got there.\n\n"
        "She turned and looked at me.\n\n"
        '"You took your time."\n\n'
        '"The ferry was late."\n\n'
        '"It always is," she said.\n\n'
        "I leaned on the rail beside the woman and watched the gulls.\n\n"
        '"Do you come here often?" I asked.\n\n'
        '"Every Sunday."\n\n'
        "I thought about my own Sundays. I had nothing to say about them.\n\n"
        '"Hey." She nudged my arm. "Where did you go?"\n'
    )
    s = analyze(write_story(text))
    assert said(s, "You took your time")[0] == "the girl"
    assert said(s, "ferry was late")[0] == "Narrator"
    assert said(s, "Where did you go") == ("the girl", "beat")
    assert [c.name for c in s.characters if not c.narrator] == ["the girl"]


def test_a_fix_naming_the_narrator_is_the_first_person_narrator(
    write_story: Callable[..., Path],
) -> None:
    from audiobook.attribute import attribute

    text = (
        "I waited by the gate. I was cold and I said nothing for a while.\n\n"
        '"Are you coming?" asked Nora Quill.\n\n'
        '"Not yet."\n\n'
        '"Suit yourself," I said, and I turned away.\n'
    )
    s = analyze(write_story(text))
    line = next(x for x in s.segments if x.kind == "dialogue" and "Not yet" in x.text)
    cast = attribute(s.text, s.segments, None, fixed={(line.start, line.end): "Narrator"})
    names = [c.name for c in cast]
    assert names.count("Narrator") == 1
    assert next(c for c in cast if c.name == "Narrator").narrator


def test_a_gap_in_a_run_alternates_from_the_tagged_lines_not_a_guessed_one(
    write_story: Callable[..., Path],
) -> None:
    # The beat before the third line reports Ansel's words ("said something polite")
    # and gives him the line; the gap after it still alternates from the tags
    # around it, so one wrong guess does not carry into the lines after.
    text = (
        "The ferry came in late, and Nora was waiting on the quay.\n\n"
        '"You\'re late," said Nora.\n\n'
        '"The ferry was slow."\n\n'
        "Ansel said something polite, and asked about the harvest. "
        '"Oh! The harvest is in, mostly. I have not stopped since dawn."\n\n'
        '"Did the boys help?"\n\n'
        '"When they could be found."\n\n'
        '"They will turn up," replied Ansel.\n'
    )
    s = analyze(write_story(text))
    assert said(s, "Did the boys")[0] == "Ansel"
    assert said(s, "When they could")[0] == "Nora"


def test_a_tag_of_one_sex_goes_to_someone_whose_sex_the_text_never_told(
    write_story: Callable[..., Path],
) -> None:
    # Nothing tells Kaito's or Jun's sex; "the younger man" is one of them (not Kaito,
    # who spoke last), not a stranger of the story's own.
    text = (
        "Chapter 2\n\n"
        "The kitchen was too small for three people, but Kaito had never let that stop him.\n\n"
        '"Move," he said, elbowing Jun away from the stove.\n\n'
        '"I was here first." Jun didn\'t budge. "And you burn everything."\n\n'
        '"I burned one thing. Once."\n\n'
        '"Twice," Mei called from the doorway. "I was there for both."\n\n'
        'The older man rolled his eyes. "Nobody asked you."\n\n'
        '"Nobody ever does." She stole a piece of toast and grinned at her brother.\n\n'
        'Jun snorted. "Since when?"\n\n'
        '"Since always."\n\n'
        'Kaito pointed the spatula at her. "Out. Both of you."\n\n'
        '"It\'s my kitchen too," the younger man protested.\n'
    )
    s = analyze(write_story(text))
    assert said(s, "my kitchen too") == ("Jun", "tag-sex-untold")
    assert {c.name for c in s.characters} == {"Kaito", "Jun", "Mei"}


def test_speech_the_narration_reports_is_a_turn(write_story: Callable[..., Path]) -> None:
    # Wenna's answer is told, not quoted; the bare question after it is Tobias's again,
    # not hers for being the paragraph's subject.
    text = (
        "Chapter 1\n\n"
        '"Who is that on the quay?" said Tobias Hale, lowering his glass.\n\n'
        "Wenna Price shaded her eyes against the glare, and said that she did not know.\n\n"
        '"Would it be the new keeper, come early?"\n\n'
        '"It may be," said Wenna. "He was due on Monday."\n'
    )
    s = analyze(write_story(text))
    assert said(s, "new keeper") == ("Tobias Hale", "previous-beat")
