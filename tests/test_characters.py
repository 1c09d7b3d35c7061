"""Name discovery and clustering: who the characters are, apart from who speaks."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from audiobook.analyze import analyze
from audiobook.attribute import discover_characters
from audiobook.characters import NameIndex, cluster_names, first_name_gender, share_a_name
from audiobook.model import Character


def _pseudo_names(n: int) -> Counter[str]:
    """``n`` distinct invented names, bare, titled and full, as a story with a huge cast
    (or a page of capitalised noise) would give."""
    rng = random.Random(7)
    syllables = "ka ri mo ven tal os bri du lan fe gor ith ul ze phar nim ast cor".split()
    out: Counter[str] = Counter()
    while len(out) < n:
        word = "".join(rng.choice(syllables) for _ in range(4)).title()
        other = "".join(rng.choice(syllables) for _ in range(4)).title()
        form = rng.choice([word, f"Mr. {word}", f"{word} {other}", f"Miss {word} {other}"])
        out[form] += rng.randint(1, 5)
    return out


def test_clustering_many_distinct_names_is_not_quadratic() -> None:
    # Comparing every name with every other took about 16 s for 2,000 forms; filed by
    # their words, they take a few hundredths of a second.
    counts = _pseudo_names(2000)
    start = time.process_time()
    clusters = cluster_names(counts)
    assert time.process_time() - start < 0.5
    assert sum(len(c.forms) for c in clusters) == len(counts)


def test_indexed_clustering_still_joins_what_it_should() -> None:
    counts = Counter(
        {"Elizabeth Bennet": 5, "Lizzy": 9, "Miss Elizabeth": 2, "Mr. Brownlow": 30,
         "Mr. Browlow": 1, "Fitzwilliam Darcy": 1, "Mr. Darcy": 40, "Darcy": 50,
         "Mrs. Bennet": 20, "Jane Bennet": 4, "Miss Bennet": 6}
    )  # fmt: skip
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Lizzy"] == home["Miss Elizabeth"] == home["Elizabeth Bennet"]
    assert home["Mr. Browlow"] == home["Mr. Brownlow"]  # a one-letter slip
    assert home["Darcy"] == home["Mr. Darcy"] == home["Fitzwilliam Darcy"]
    # A surname several Bennets share names none of them.
    assert len({home["Mrs. Bennet"], home["Miss Bennet"], home["Jane Bennet"]}) == 3


def _cast(write_story: Callable[..., Path], text: str) -> dict[str, Character]:
    script = analyze(write_story(text))
    return {c.name: c for c in discover_characters(script.text, script.segments)}


# Sentence openers that carry pronouns after them, the way a person's name would.
OPENERS = (
    "Chapter 1\n\n"
    "Tamsin Arlo had never liked the harbour at night. She pulled her coat tighter.\n\n"
    '"Cold," Tamsin said.\n\n'
    '"You came," Corin said from the dark.\n\n'
    '"Forget it." Tamsin did not turn. "I am only here because Vesna asked."\n\n'
    "Fighting back tears, she finally looked at him. However, he only shrugged.\n\n"
    "Sighing, she followed him to the car, where her sister waited.\n\n"
    '"Hurry!" Someone was shouting from the pier, his voice thin in the wind.\n\n'
    'Detaining her by the sleeve, he said, "Wait."\n\n'
    "Slowly, she turned back to him.\n\n"
    "Tonight she only cried, and he held her.\n"
)


def test_sentence_openers_are_not_characters(write_story: Callable[..., Path]) -> None:
    cast = _cast(write_story, OPENERS)
    for word in ("Fighting", "However", "Sighing", "Forget", "Hurry", "Someone", "Detaining",
                 "Slowly", "Tonight"):  # fmt: skip
        assert not any(word in name.split() for name in cast), (word, sorted(cast))
    assert "Tamsin Arlo" in cast and "Corin" in cast


def test_a_name_that_looks_like_an_adverb_is_still_a_name(
    write_story: Callable[..., Path],
) -> None:
    # "Emily" ends like "Slowly" and only ever opens a sentence here.
    text = 'Emily laughed. "Never," she said.\n\nEmily shook her head, and she left.\n'
    assert _cast(write_story, text)["Emily"].gender == "female"


def test_gender_comes_from_pronouns_about_the_person(write_story: Callable[..., Path]) -> None:
    # Corin (a name the lists don't know) is only ever near pronouns for other people:
    # Vesna's hair, "her" as the object of his looking, "the girl" and her bag.
    text = (
        "Corin watched Vesna tuck her hair behind her ear.\n\n"
        '"Ready?" Vesna asked.\n\n'
        "Corin smiled at her. He picked up his coat.\n\n"
        "Corin helped the girl with her bag.\n\n"
        '"Ready," said Corin.\n'
    )
    cast = _cast(write_story, text)
    assert cast["Corin"].gender == "male"


def test_a_name_after_a_preposition_does_not_hide_the_next_sentences_subject(
    write_story: Callable[..., Path],
) -> None:
    # "the Old Quay" is where Ysolde waits, not someone "She" could be.
    text = (
        "Ysolde was waiting by the Old Quay, arms folded. She smirked when the boat came.\n\n"
        '"Late again," said Ysolde.\n'
    )
    assert _cast(write_story, text)["Ysolde"].gender == "female"
    # Beside someone "She" might be, the next sentence says nothing.
    text = text.replace("by the Old Quay", "beside Brannagh")
    assert _cast(write_story, text)["Ysolde"].gender == "unknown"


def test_titles_that_clash_keep_mother_and_daughter_apart() -> None:
    counts = Counter(
        {"Miss Wren Halloway": 1, "Wren Halloway": 20, "Mrs. Halloway": 200,
         "Miss Halloway": 25, "Wren": 900}
    )  # fmt: skip
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Wren"] == home["Wren Halloway"] == home["Miss Halloway"]
    assert home["Mrs. Halloway"] != home["Wren Halloway"]


def test_a_one_off_full_name_is_no_rival_for_a_frequent_name() -> None:
    # "Wren Oakes" (once: what her name would be if she married him), "Ivy Wren" and
    # "Wren Fairley" (two names side by side) would otherwise make "Wren" ambiguous.
    counts = Counter(
        {"Wren Halloway": 20, "Wren Oakes": 1, "Ivy Wren": 1, "Wren Fairley": 1, "Wren": 900,
         "Jasper Oakes": 15}
    )  # fmt: skip
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Wren"] == home["Wren Halloway"]
    # A title is different: "Miss Oakes" may be any Oakes daughter.
    counts = Counter({"Miss Wren Oakes": 30, "Miss Ivy Oakes": 1, "Miss Oakes": 9})
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Miss Oakes"] != home["Miss Wren Oakes"]


def test_a_one_off_full_name_is_no_rival_for_a_mans_title_and_surname() -> None:
    # "Mr. Oakes" and the bare "Oakes" are the Jasper Oakes seen twenty times, not the
    # "Wren Oakes" she might become: else one man is split into two voices.
    counts = Counter(
        {"Jasper Oakes": 20, "Wren Oakes": 1, "Mr. Oakes": 12, "Oakes": 270, "Jasper": 200}
    )
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Mr. Oakes"] == home["Oakes"] == home["Jasper Oakes"] == home["Jasper"]
    assert home["Wren Oakes"] != home["Jasper Oakes"]


def test_a_wife_called_by_her_husbands_name_is_neither_him_nor_his_mother() -> None:
    counts = Counter({"Mrs. Charles Pell": 12, "Charles Pell": 9, "Mrs. Pell": 40})
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert len({home["Mrs. Charles Pell"], home["Charles Pell"], home["Mrs. Pell"]}) == 3


def test_a_rank_named_alone_gives_the_gender(write_story: Callable[..., Path]) -> None:
    text = (
        'The Marchioness looked up from her cards. "Again?" said the Marchioness.\n\n'
        '"Again," said the Marquis.\n'
    )
    gender = {f: c.gender for c in _cast(write_story, text).values() for f in [c.name, *c.aliases]}
    assert gender["the Marchioness"] == "female"
    assert gender["the Marquis"] == "male"


def test_a_name_the_story_is_often_in_is_a_place(write_story: Callable[..., Path]) -> None:
    text = (
        "Nobody stayed in Larkhaven for long. Larkhaven slept under its fog, and "
        "Jonah Pell walked through Larkhaven every night.\n\n"
        '"Cold," said Jonah.\n\n'
        "Larkhaven waited. Somewhere in Larkhaven a dog barked.\n"
    )
    cast = _cast(write_story, text)
    assert "Jonah Pell" in cast
    assert "Larkhaven" not in cast


def test_an_unnamed_characters_gender_from_the_sentences_they_open(
    write_story: Callable[..., Path],
) -> None:
    text = (
        "The stranger pulled his hat lower and said nothing.\n\n"
        '"Room for the night?" asked the stranger.\n\n'
        "The stranger set his bag by the fire. He did not take off his gloves.\n"
    )
    assert _cast(write_story, text)["the stranger"].gender == "male"


def test_a_contracted_i_am_is_no_part_of_a_name() -> None:
    from audiobook.characters import WordStats, find_mentions

    text = "I'm Wren Halloway, I told him. I'm Mister Pell to you, he said."
    found = {m.surface for m in find_mentions(text, [(0, len(text))], WordStats.of(text))}
    assert "Wren Halloway" in found and "Mister Pell" in found
    assert not any("I'm" in f for f in found)


def test_a_title_before_a_first_name_joins_the_bare_first_name() -> None:
    # "Miss Wren" is the Wren of nine hundred mentions; "Sir Tobias" is the one
    # "Sir Tobias Hale", not the Tobias Crane or Tobias Ash met in passing.
    counts = Counter(
        {"Miss Louisa": 15, "Louisa": 220, "Sir Tobias Hale": 6, "Sir Tobias": 110,
         "Tobias Crane": 1, "Tobias Ash": 1}
    )  # fmt: skip
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Miss Louisa"] == home["Louisa"]
    assert home["Sir Tobias"] == home["Sir Tobias Hale"] != home["Tobias Crane"]


def test_a_womans_title_never_resolves_to_a_man_by_the_surname() -> None:
    index = NameIndex([Character("Mr. Pell", ["Pell"], "male")])
    assert index.resolve("Pell") == "Mr. Pell"
    assert index.resolve("Miss Pell") is None
    assert index.resolve("Dr. Pell") == "Mr. Pell"


def test_a_stray_one_off_does_not_split_a_titled_surname_from_its_full_name() -> None:
    # A run-together "Mr. Quill Miss Aster" seen once shares the surname; "Miss Aster"
    # is still the Ivy Aster of the book.
    counts = Counter({"Miss Aster": 90, "Ivy Aster": 16, "Mr. Quill Miss Aster": 1, "Ivy": 3})
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Miss Aster"] == home["Ivy Aster"] == home["Ivy"]


def test_a_bare_surname_is_the_man_when_his_sister_is_named_in_full_once() -> None:
    counts = Counter(
        {"Mr. Pell": 115, "Miss Pell": 103, "Pell": 100, "Harriet Pell": 1, "Harriet": 6}
    )
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Pell"] == home["Mr. Pell"] != home["Miss Pell"]


def test_a_modern_first_name_gives_a_gender(write_story: Callable[..., Path]) -> None:
    # Neither name is on the hand-written lists and no pronoun follows either as a
    # sentence's subject; the census lists still know them.
    text = (
        "The first thing Dario noticed was Keisha at the window.\n\n"
        '"You came," said Keisha.\n\n'
        '"I said I would," said Dario.\n'
    )
    cast = _cast(write_story, text)
    assert (cast["Keisha"].gender, cast["Dario"].gender) == ("female", "male")


def test_the_census_lists_give_a_gender_only() -> None:
    # Only the hand-written lists say a capitalised sentence opener is somebody: the
    # census lists are wide enough to hold words a story may use otherwise.
    assert first_name_gender("Dario") == "unknown"
    assert first_name_gender("Dario", census=True) == "male"
    assert first_name_gender("Emily", census=True) == "female"


def test_her_before_an_article_is_an_object_not_a_possessive(
    write_story: Callable[..., Path],
) -> None:
    # "shot her a look" says nothing about Voss; "He walked" after "Voss stood." does.
    text = (
        "Voss shot her a look. Voss handed her the chart.\n\n"
        '"Fine," said Voss.\n\n'
        "Voss stood. He walked to the window.\n"
    )
    assert _cast(write_story, text)["Voss"].gender == "male"


def test_a_relative_clause_naming_someone_else_is_skipped(
    write_story: Callable[..., Path],
) -> None:
    # The clause names Ines; "his throat" after it is still about Vorn.
    text = (
        "Vorn, who had sat so still that Ines forgot she was not alone, cleared his throat.\n\n"
        '"Well?" said Vorn.\n\n'
        '"Well what?" said Ines.\n'
    )
    assert _cast(write_story, text)["Vorn"].gender == "male"


def test_a_full_name_only_said_in_dialogue_is_no_rival_for_the_narrations() -> None:
    # The narration calls him "Mr. Quill" and "Amos Quill"; only another character ever
    # says "Dot Quill" (his wife's pet name): "Mr. Quill" is still Amos.
    counts = Counter({"Mr. Quill": 390, "Quill": 230, "Amos Quill": 22, "Dot Quill": 5})
    home = {f: i for i, c in enumerate(cluster_names(counts, {"Dot Quill"})) for f in c.forms}
    assert home["Mr. Quill"] == home["Quill"] == home["Amos Quill"] != home["Dot Quill"]
    # Seen in the narration, she is a rival, and "Mr. Quill" could be either.
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Mr. Quill"] != home["Amos Quill"]


def test_names_that_talk_to_each_other_are_two_people() -> None:
    # "Miss Wren" (the elder sister, by the old convention) answers "Posy" (Posy Wren)
    # again and again: both fit the full name, but the one seen more often keeps it.
    counts = Counter({"Posy Wren": 8, "Miss Wren": 30, "Posy": 120, "Wren": 3})
    apart = {frozenset({"miss wren", "posy"})}
    home = {f: i for i, c in enumerate(cluster_names(counts, apart=apart)) for f in c.forms}
    assert home["Posy"] == home["Posy Wren"] != home["Miss Wren"]
    # Without the exchanges the title and surname fit the only Wren of the story.
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Miss Wren"] == home["Posy Wren"]


def test_an_interlocutor_bars_only_the_character_it_will_join() -> None:
    # "Tom" talks with "Mr. Gradgrind" but could be Tom Pinch or Thomas Gradgrind, so
    # it joins neither; it must not keep Mr. Gradgrind from Thomas Gradgrind.
    counts = Counter({"Thomas Gradgrind": 5, "Tom Pinch": 5, "Mr. Gradgrind": 10, "Tom": 50})
    apart = {frozenset({"mr gradgrind", "tom"})}
    home = {f: i for i, c in enumerate(cluster_names(counts, apart=apart)) for f in c.forms}
    assert home["Mr. Gradgrind"] == home["Thomas Gradgrind"]
    assert home["Tom"] != home["Mr. Gradgrind"]


def test_a_name_and_its_nickname_or_title_are_never_interlocutors() -> None:
    assert share_a_name("Lizzy", "Elizabeth Bennet")
    assert share_a_name("Kemp", "Dr. Kemp")
    assert not share_a_name("Mr. Jones", "Mr. Tom")
    assert not share_a_name("Lucy", "Miss Steele")


EXCHANGES = (
    "Chapter 1\n\n"
    "Posy Wren came down to the quay with her elder sister.\n\n"
    '"The boat is late," said Posy.\n\n'
    '"Boats are always late," said Miss Wren.\n\n'
    '"Not this one. Father swore it."\n\n'
    "They waited. The gulls wheeled over the harbour wall.\n\n"
    '"There it is," said Miss Wren.\n\n'
    '"That is the ferry, not ours," said Posy.\n\n'
    '"Then we wait," said Miss Wren, and sat on her trunk.\n\n'
    "Posy laughed. Posy always laughed at the trunk.\n\n"
    '"You will catch cold," Posy said later.\n\n'
    '"Kemp, you fool!" cried the ferryman.\n\n'
    '"Coming," said Kemp.\n\n'
    '"Quick now," said Dr. Kemp to nobody, and lifted the rope.\n\n'
    '"Off we go," said Kemp.\n\n'
    '"Hold fast," said Dr. Kemp.\n'
)


def test_a_story_keeps_two_speakers_who_answer_each_other_apart(
    write_story: Callable[..., Path],
) -> None:
    cast = _cast(write_story, EXCHANGES)
    posy = next(c for c in cast.values() if "Posy" in (c.name, *c.aliases))
    assert "Miss Wren" not in (posy.name, *posy.aliases)
    # One man whose tags vary his name while he talks on is still one man.
    kemp = next(c for c in cast.values() if "Kemp" in (c.name, *c.aliases))
    assert "Dr. Kemp" in (kemp.name, *kemp.aliases)


LATECOMER = (
    "Chapter 1\n\n"
    "Mina was already at the bench when the bell went, her sketchbook open on her knees.\n\n"
    '"You\'re late," she said.\n\n'
    '"Bus broke down." Lev dropped beside her. "Again."\n\n'
    '"Liar."\n\n'
    'Otis burst in at ten past, paint up to his elbows. "Don\'t ask," he groaned.\n\n'
    '"We weren\'t going to," said Mina.\n'
)


def test_a_census_first_name_with_a_pronoun_after_it_is_a_person(
    write_story: Callable[..., Path],
) -> None:
    # "Otis" is on no hand-written list and "burst" is no person's verb, but the census
    # knows the name and "his elbows" follows it: he is the one who groans.
    script = analyze(write_story(LATECOMER))
    groan = next(s for s in script.segments if s.text.startswith("Don't ask"))
    assert groan.speaker == "Otis"


def test_a_saints_name_is_no_rival_for_a_first_name() -> None:
    # "Little Hampton St. Agnes" is the village; "Agnes" is Agnes Varley, one voice.
    counts = Counter({"Agnes Varley": 30, "Agnes": 30, "St. Agnes": 5, "Mr. Varley": 12})
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Agnes"] == home["Agnes Varley"] != home["St. Agnes"]


def test_a_first_name_a_rank_always_goes_with_is_no_rival_for_the_bare_name() -> None:
    # "Sir Hugo" is never plain "Hugo": the bare name is Hugo Penn's, however often the
    # baronet is talked of; "Sir Hugo" still finds Sir Hugo Marsh.
    counts = Counter({"Sir Hugo Marsh": 6, "Sir Hugo": 110, "Hugo Penn": 11, "Hugo": 19})
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Hugo"] == home["Hugo Penn"] != home["Sir Hugo"]
    assert home["Sir Hugo"] == home["Sir Hugo Marsh"]
