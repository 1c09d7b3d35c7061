"""Attribution sieves on short original passages: right where it answers, None where not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiobook.analyze import analyze
from audiobook.attribute import attribute
from audiobook.model import Character, Script


def lines(script: Script) -> list[tuple[str, str | None, str | None]]:
    return [(s.text, s.speaker, s.sieve) for s in script.segments if s.kind == "dialogue"]


def speaker_of(script: Script, words: str) -> str | None:
    for s in script.segments:
        if s.kind == "dialogue" and words in s.text:
            return s.speaker
    raise AssertionError(f"no dialogue containing {words!r}")


def test_explicit_name_tags_both_orders(write_story: Callable[..., Path]) -> None:
    text = (
        "Bruce Wayne stood by the window.\n\n"
        '"Get the car," Bruce ordered.\n\n'
        '"It is already waiting," said Alfred Pennyworth.\n\n'
        'Alfred said, "Shall I come along?"\n'
    )
    s = analyze(write_story(text))
    assert speaker_of(s, "Get the car") == "Bruce Wayne"
    assert speaker_of(s, "already waiting") == "Alfred Pennyworth"
    assert speaker_of(s, "Shall I come") == "Alfred Pennyworth"
    assert {c.name for c in s.characters} == {"Bruce Wayne", "Alfred Pennyworth"}


def test_adverb_and_pronoun_tags(write_story: Callable[..., Path]) -> None:
    text = (
        "Clark Kent set the paper down and looked at Lois Lane.\n\n"
        '"You missed a comma," Clark said quietly.\n\n'
        'Lois rolled her eyes at him. "I never miss a comma," she said.\n\n'
        '"Third line," he whispered.\n'
    )
    s = analyze(write_story(text))
    assert speaker_of(s, "missed a comma") == "Clark Kent"
    assert speaker_of(s, "never miss") == "Lois Lane"
    assert speaker_of(s, "Third line") == "Clark Kent"
    genders = {c.name: c.gender for c in s.characters}
    assert genders == {"Clark Kent": "male", "Lois Lane": "female"}


def test_first_person_narrator(write_story: Callable[..., Path]) -> None:
    text = (
        "I had not slept in two days, and my hands would not stop shaking. I tell him so.\n\n"
        '"Sit down," I said. "Before you fall down."\n\n'
        "I watched the kettle while my brother found a chair.\n"
    )
    s = analyze(write_story(text))
    narr = [c for c in s.characters if c.narrator]
    assert len(narr) == 1
    assert speaker_of(s, "Sit down") == narr[0].name
    # The second quote of the paragraph carries the same speaker.
    assert speaker_of(s, "Before you fall") == narr[0].name


def test_untagged_line_stays_unknown(write_story: Callable[..., Path]) -> None:
    text = '"Bring the lantern," Marta said.\n\nSomewhere below, a door slammed.\n\n"Which one?"\n'
    s = analyze(write_story(text))
    assert speaker_of(s, "Bring the lantern") == "Marta"
    assert speaker_of(s, "Which one") is None


def test_possessive_descriptor_tag_is_not_guessed(write_story: Callable[..., Path]) -> None:
    text = 'Lord Varen and his lady rode in silence.\n\n"The bridge is out," said his lady.\n'
    s = analyze(write_story(text))
    assert speaker_of(s, "bridge is out") is None


def test_roster_limits_speakers(write_story: Callable[..., Path]) -> None:
    text = '"Run," Tomas said.\n\n"Why?" asked Ilse.\n'
    roster = [Character("Ilse Brandt", aliases=["Ilse"], gender="female")]
    s = analyze(write_story(text), roster=roster)
    assert speaker_of(s, "Why") == "Ilse Brandt"
    assert speaker_of(s, "Run") is None
    assert [c.name for c in s.characters] == ["Ilse Brandt"]


def test_multi_paragraph_quote_keeps_speaker(write_story: Callable[..., Path]) -> None:
    text = (
        'Hester folded her hands. "It began in the spring, when the river rose.\n\n'
        '"By summer the whole valley was under water," she went on.\n'
    )
    s = analyze(write_story(text))
    speakers = {sp for _, sp, _ in lines(s)}
    assert speakers == {"Hester"}


WORDS = ["said", "asked", "Mara", "Jon", "he", "she", "I", "the", "door", "opened", "quietly", "."]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_never_invents_a_speaker(pars: list[tuple[list[str], bool]]) -> None:
    from audiobook.model import Document
    from audiobook.segment import segment
    from audiobook.structure import build

    text = "\n\n".join((f'"{" ".join(w)}," ' + " ".join(w)) if q else " ".join(w) for w, q in pars)
    doc = Document(path=Path("p.txt"), format="text", text=text)
    segs = segment(doc, build(doc))
    roster = [Character("Mara Voss", ["Mara"], "female")]
    for cast in (None, roster):
        chars = attribute(text, segs, cast)
        names = {c.name for c in chars}
        for sg in segs:
            assert sg.speaker is None or sg.speaker in names
            assert 0.0 <= sg.confidence <= 1.0
        if cast is not None:
            assert names <= {"Mara Voss", "Narrator"}


def test_bare_names_join_the_character_they_mostly_name() -> None:
    from collections import Counter

    from audiobook.characters import cluster_names

    counts = Counter(
        {"Robert Cohn": 40, "Cohn": 120, "Robert Prentiss": 1, "Robert": 15,
         "Frances Clyne": 3, "Frances": 12, "Frankie Fritsch": 2,
         "Fitzwilliam Darcy": 1, "Darcy": 90, "Colonel Fitzwilliam": 30, "Fitzwilliam": 9}
    )  # fmt: skip
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Robert"] == home["Robert Cohn"] == home["Cohn"]  # not the one-off Robert
    assert home["Frances"] == home["Frances Clyne"]  # the name itself beats "Frankie"
    assert home["Fitzwilliam"] == home["Colonel Fitzwilliam"]  # the colonel is called so
    assert home["Robert Prentiss"] != home["Robert"]


def test_contracted_word_is_not_part_of_a_name() -> None:
    from audiobook.characters import WordStats

    stats = WordStats.of("Where's Cohn? He left. Where's the key?")
    assert not stats.namelike("Where's")
    assert stats.namelike("Cohn")


def test_a_role_in_apposition_must_be_someone() -> None:
    # "the keeper, Tobias Hale," gives Tobias a role; "the house, Mrs. Penrose," does
    # not make "the house" another name for her.
    from audiobook.attribute.discover import _appositives
    from audiobook.model import Segment

    text = (
        'The keeper, Tobias Hale, climbed the stair. "Not yet," said the keeper gently.\n'
        "They walked up to the house, Mrs. Penrose, who knew the way, going first. "
        + "The house was cold. " * 11
        + "The house heard them come.\n"
    )
    seg = Segment(kind="narration", text=text, start=0, end=len(text), chapter=0)
    found = _appositives(text, [seg])
    assert ("Tobias Hale", "the keeper") in found
    assert not any(role == "the house" for _, role in found)


@pytest.mark.parametrize(
    ("narration", "who"),
    [
        ("As she went up the stairs, Mrs. Penrose followed her, saying,", "Mrs. Penrose"),
        (
            "The shop being shut, Mr. and Mrs. Tull sat at supper, when Mr. Tull, after "
            "several glances at his wife, said,",
            "Mr. Tull",
        ),
        (
            "She would have handed it to Mr. Hale, who, though surprised, was willing to "
            "take it, when she quickly drew back, and said to Tom,",
            "she",
        ),
        (
            "He waited for an answer; and Nora at that moment coming towards them, he was "
            "seized with a notion, and called out to her,",
            "he",
        ),
        ("Ansel saw what he was doing, and at the first pause turned to him, and said,", "Ansel"),
        ("Mr. Hale, drawing near Nora, said to her--", "Mr. Hale"),
        ("Nora replied, so quickly that the Keeper said, in an offended tone,", "Keeper"),
        ("She opened the door, and met Nora on the stair, who, out of breath, cried out,", "Nora"),
    ],
)
def test_tag_before_finds_the_one_who_speaks(narration: str, who: str) -> None:
    from audiobook.attribute.tags import tag_before

    tag = tag_before(narration)
    assert tag is not None and tag.who == who


def test_someone_spoken_to_is_not_the_one_who_speaks() -> None:
    # Nora is spoken to; the clause goes on with the subject of the one before it.
    from audiobook.attribute.tags import tag_before

    tag = tag_before("She made one effort more; and, turning to Nora, said,")
    assert tag is not None and tag.who == "She"
    assert tag_before("The house was quiet; and, turning to Nora, said,") is None


def test_ceased_speaking_opens_no_speech() -> None:
    from audiobook.attribute.tags import tag_before

    assert tag_before(", when she ceased speaking,") is None


def test_bundled_example_keeper_is_tobias_without_a_roster() -> None:
    # "Tobias Hale, keeper of the Gull Point light," and later "said the keeper gently":
    # the discovered cast learns the role as his alias, so the line is his.
    root = Path(__file__).resolve().parent.parent
    s = analyze(root / "examples" / "the-lighthouse-at-gull-point.txt")
    line = next(g for g in s.segments if g.kind == "dialogue" and g.text.startswith("Not yet"))
    assert (line.speaker, line.sieve) == ("Tobias Hale", "tag-nominal")
    assert "the keeper" not in {c.name for c in s.characters}


def test_the_of_a_cast_members_name_is_no_name() -> None:
    # Neither "The" of "The Waiter" nor "My" of "My Dear Jane" nor "Man" of "Young Man"
    # names anyone on its own.
    from audiobook.characters import NameIndex

    index = NameIndex(
        [
            Character("The Waiter", [], "unknown"),
            Character("Jane", ["My Dear Jane"], "female"),
            Character("Young Man", [], "male"),
        ]
    )
    assert index.resolve("The") is None
    assert index.resolve("My") is None
    assert index.resolve("the man") is None
    assert index.resolve("Waiter") == "The Waiter"
    assert index.resolve("Jane") == "Jane"


def test_a_title_never_sits_inside_a_name() -> None:
    # "When Mrs. Hall went…" mentions Mrs. Hall, not "When Mrs" and a bare "Hall".
    from audiobook.characters import NAME_RE

    found = [m.group() for m in NAME_RE.finditer("When Mrs. Hall went out. As Mr Tull came in.")]
    assert found == ["When", "Mrs. Hall", "As", "Mr Tull"]
    assert [m.group() for m in NAME_RE.finditer("Mr. Fitzwilliam Darcy")] == [
        "Mr. Fitzwilliam Darcy"
    ]


def test_tag_ending_with_whom_the_speech_is_for() -> None:
    from audiobook.attribute.tags import tag_before

    # "ask her niece:" — the object is whom the line is for; the subject still speaks.
    tag = tag_before("Mrs. Pell had time to look over his shoulder and ask her niece:")
    assert tag is not None and tag.who == "Mrs. Pell"
    tag = tag_before("Then she turned round and told him:")
    assert tag is not None and tag.who == "she"


def test_possessive_speech_noun_after_a_quote_is_a_tag() -> None:
    from audiobook.attribute.tags import tag_after

    # '"And who is he?" was Sir Anselm's cold inquiry' / "was Wenna's language"
    tag = tag_after(" was Sir Anselm's cold suspicious inquiry.")
    assert tag is not None and tag.who == "Sir Anselm"
    tag = tag_after(" was Wenna's language; and she meant it.")
    assert tag is not None and tag.who == "Wenna"


def test_inverted_tag_before_a_quote() -> None:
    from audiobook.attribute.tags import tag_before

    # `Then said Mr. Pell, "…"`: verb first, nothing before it could be its subject.
    tag = tag_before("Then said Mr. Pell,")
    assert tag is not None and tag.who == "Mr. Pell"
    tag = tag_before("in an unhappy mood, thus spoke Wenna:")
    assert tag is not None and tag.who == "Wenna"
    # ...but `and asked Wenna:` has a subject before the verb: Wenna is spoken to.
    tag = tag_before("He turned round and asked Wenna:")
    assert tag is not None and tag.who == "He"
