"""lexicon: entries, precedence, matching, files, unusual words, and the CLI group."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiobook.analyze import analyze
from audiobook.cast import cast_voices
from audiobook.cli import main
from audiobook.errors import CastError
from audiobook.render import speech_jobs
from audiobook.sidecar import Sidecar, load_sidecar, save_sidecar, sidecar_path
from audiobook.text.lexicon import (
    Entry,
    Lexicon,
    add_user_entry,
    builtin_lexicon,
    count_unusual,
    full_lexicon,
    parse_lexicon_text,
    read_lexicon_file,
    story_lexicon,
    unusual_words,
)
from audiobook.text.wordlists import english_words
from audiobook.voices import discover_voices

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.txt"))

# An original fanfic-style text: invented names, a stutter, shouting, a parenthesis.
FANFIC = """Title: What the Stars Keep
Author: quietcomet


Chapter 1: The Last Night

Lara held the child close while the floor shook. Through the crystal walls the red sun
was swollen and low, and the sky over Kandor burned the colour of rust.

"Mar-El will not come back in time," she said. "The council made sure of it."

Jor-El did not look up from the console. "Then we send Kal-El alone."

"He is three days old, Jor. THREE DAYS."

"I know." He closed the last seal. "I know, sha'werthalen. I know."

The word meant *heart of my house*, and he had not used it since their bonding. Lara
pressed her forehead to his. (Mar-El, our son. Forgive us.) The launch cradle hummed.


Chapter 2: Smallville

Twenty-two years later and several billion miles away, Clark Kent stood in the Kansas
heat and stared at the letter from the Daily Planet.

"S-smallville isn't going anywhere," his mother said from the porch. "Go. Take the
job, honey."

"I l-loved it here, Ma. I still do."

At 10:45 AM the bus pulled in. Clark thought of the dream again: a woman saying
sha'werthalen in a voice like rain, and a name that was almost his. KAL-EL. Kal-El.
Mar-El. He did not know why the names made his chest ache, or why the word
sha'werthalen felt like a door.

~ * ~ * ~

Lois Lane read his first piece and said, "It's fine. It's FINE, Smallville. Don't look
at me like that." Perry White said nothing, which from Perry was a medal.
"""


@pytest.fixture(autouse=True)
def _own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user config folder of the test's own: the developer's lexicon never leaks in."""
    folder = tmp_path / "config"
    monkeypatch.setenv("AUDIOBOOK_CONFIG_DIR", str(folder))
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path / "cache"))
    return folder


@pytest.fixture
def fanfic(tmp_path: Path) -> Path:
    path = tmp_path / "stories" / "what-the-stars-keep.txt"
    path.parent.mkdir(parents=True)
    path.write_text(FANFIC, encoding="utf-8")
    return path


# --- entries and matching -------------------------------------------------------------


def test_text_format_with_comments_and_phonemes() -> None:
    parsed = parse_lexicon_text(
        "# names\nKal-El = Kal El\n\nsha'werthalen = [[  ʃˈɑːwɚθˈɑːlən ]]\n  Mar-El=Mar  El\n"
    )
    assert parsed == {
        "Kal-El": "Kal El",
        "sha'werthalen": "[[ ʃˈɑːwɚθˈɑːlən ]]",
        "Mar-El": "Mar El",
    }


@pytest.mark.parametrize(
    "line",
    ["Kal-El Kal El", "= Kal El", "Kal-El =", "Kal-El = [[ kæl", "Kal-El = Kal [[ ɛl ]]",
     "Kal-El = 123", "<Kal> = Kal"],
)  # fmt: skip
def test_bad_lines_are_refused_with_their_line(line: str) -> None:
    with pytest.raises(CastError):
        parse_lexicon_text(f"# ok\n{line}\n", "lex.txt")


def test_a_lower_case_word_matches_any_case_a_capitalised_one_only_as_written() -> None:
    lex = Lexicon([Entry("kandor", "Kan-door"), Entry("Will", "Wil")])
    assert lex.apply("Kandor, kandor, KANDOR") == "Kan-door, Kan-door, Kan-door"
    assert lex.apply("Will will go.") == "Wil will go."


def test_whole_words_only() -> None:
    lex = Lexicon([Entry("Kal", "Call"), Entry("sha", "shah"), Entry("El", "Ell")])
    assert lex.apply("Kalamazoo and Kal") == "Kalamazoo and Call"
    assert lex.apply("sha'werthalen, sha!") == "sha'werthalen, shah!"
    # a hyphen separates words: a stutter or a compound still finds the name
    assert lex.apply("Kal-El") == "Call-Ell"


def test_the_longest_entry_wins_and_possessives_follow() -> None:
    lex = Lexicon(
        [Entry("Kal", "Call"), Entry("Kal-El", "Kal El"), Entry("Jor-El", "[[ dʒˈɔːɹ ˈɛl ]]")]
    )
    assert lex.apply("Kal-El's cape") == "Kal El's cape"
    assert lex.apply("Jor-El's crystal") == "[[ dʒˈɔːɹ ˈɛlz ]] crystal"


def test_phrases_match_across_spaces() -> None:
    lex = Lexicon([Entry("Daily Planet", "Dailee Planet")])
    assert lex.apply("the Daily  Planet building") == "the Dailee Planet building"


def test_precedence_built_in_then_user_then_story(_own_config: Path, fanfic: Path) -> None:
    builtin = builtin_lexicon()
    assert builtin["Niamh"] == "Neeve"
    _own_config.mkdir(parents=True)
    (_own_config / "lexicon.txt").write_text("Niamh = Nee-av\nKal-El = Kal Ell\n", "utf-8")
    user = full_lexicon()
    assert user.lookup("Niamh") == Entry("Niamh", "Nee-av", "user")
    assert user.lookup("Saoirse") == Entry("Saoirse", "Seer-sha", "built-in")

    sc = load_sidecar(fanfic)
    sc.lexicon["Kal-El"] = "[[ kˈæl ˈɛl ]]"
    save_sidecar(sc)
    lex = story_lexicon(fanfic)
    assert lex.lookup("Kal-El") == Entry("Kal-El", "[[ kˈæl ˈɛl ]]", "story")
    assert lex.lookup("Niamh") == Entry("Niamh", "Nee-av", "user")
    # a lower-case story entry beats a capitalised user one for the same word
    lex = full_lexicon({"kal-el": "Kayl El"})
    assert lex.apply("Kal-El") == "Kayl El"


def test_user_lexicon_in_toml(_own_config: Path) -> None:
    _own_config.mkdir(parents=True)
    (_own_config / "lexicon.toml").write_text('[lexicon]\n"Mar-El" = "Mar Ell"\n', encoding="utf-8")
    assert full_lexicon().lookup("Mar-El") == Entry("Mar-El", "Mar Ell", "user")
    (_own_config / "lexicon.toml").write_text('"Mar-El" = 3\n', encoding="utf-8")
    with pytest.raises(CastError):
        read_lexicon_file(_own_config / "lexicon.toml")


def test_adding_keeps_the_users_comments_and_replaces_the_old_entry(_own_config: Path) -> None:
    _own_config.mkdir(parents=True)
    txt = _own_config / "lexicon.txt"
    txt.write_text("# my names\nKal-El = Kal El\n", encoding="utf-8")
    assert add_user_entry("Kal-El", "Kayl El") == txt
    add_user_entry("Kandor", "Kan-door")
    assert txt.read_text(encoding="utf-8") == ("# my names\nKal-El = Kayl El\nKandor = Kan-door\n")


def test_adding_to_a_toml_lexicon(_own_config: Path) -> None:
    _own_config.mkdir(parents=True)
    toml = _own_config / "lexicon.toml"
    toml.write_text('"Mar-El" = "Mar Ell"\n', encoding="utf-8")
    assert add_user_entry("Kandor", "Kan-door") == toml
    assert read_lexicon_file(toml) == {"Mar-El": "Mar Ell", "Kandor": "Kan-door"}


def test_sidecar_keeps_old_files_working_and_round_trips(tmp_path: Path) -> None:
    story = tmp_path / "s.txt"
    story.write_text("Hello.", encoding="utf-8")
    sidecar_path(story).write_text('version = 1\n[cast]\nnarrator = "joe"\n[mine]\nx = 1\n')
    sc = load_sidecar(story)
    assert sc.lexicon == {} and sc.extra == {"mine": {"x": 1}}
    sc.lexicon = {"sha'werthalen": "shah wer thah len", "Kal-El": "Kal El"}
    save_sidecar(sc)
    again = load_sidecar(story)
    assert again.lexicon == sc.lexicon and again.extra == {"mine": {"x": 1}}
    sidecar_path(story).write_text("[lexicon]\nKal = 1\n")
    with pytest.raises(CastError):
        load_sidecar(story)


def test_a_render_speaks_the_story_lexicon(fanfic: Path) -> None:
    save_sidecar(Sidecar(sidecar_path(fanfic), lexicon={"Kal-El": "Kal Ell"}))
    script = analyze(fanfic)
    casting = cast_voices(script, discover_voices(()), load_sidecar(fanfic))
    said = [job.text for job in speech_jobs(script, casting).values()]
    assert "Then we send Kal Ell alone." in said
    assert not any("Kal-El" in s for s in said)
    assert "Sma-Smallville isn't going anywhere" in said


# --- unusual words ------------------------------------------------------------------


def test_the_word_list_is_english_and_documented() -> None:
    words = english_words()
    assert len(words) > 50_000
    assert {"lighthouse", "colour", "color", "didn't", "o'clock"} <= words
    header = (ROOT / "audiobook" / "data" / "english_words.txt").read_text("utf-8")[:600]
    assert "Source:" in header and "License:" in header


def test_unusual_words_of_the_fanfic_put_the_invented_names_first(fanfic: Path) -> None:
    found = unusual_words(analyze(fanfic))
    top = [u.word for u in found[:4]]
    assert set(top) == {"Mar-El", "Kal-El", "sha'werthalen", "Smallville"}
    counts = {u.word: u.count for u in found}
    assert counts["Kal-El"] == 3  # "KAL-EL" counts as Kal-El
    assert counts["Smallville"] == 3  # "S-smallville" too
    # Ordinary words and common names are not unusual; skipped front matter is not read.
    assert not {"Lara", "Clark", "Kent", "Lois", "Perry", "council", "quietcomet"} & set(counts)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_unusual_words_of_each_example_start_with_its_invented_names(
    example: Path, tmp_path: Path
) -> None:
    story = tmp_path / example.name
    shutil.copy(example, story)
    found = unusual_words(analyze(story))
    assert found, "every example has a name a voice may not know"
    top = found[0]
    assert top.word[0].isupper() and top.count >= 2  # a name, used more than once
    assert not any(u.word.lower() in english_words() for u in found)


def test_the_lighthouse_example_names_corliss_first() -> None:
    example = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"
    assert unusual_words(analyze(example))[0].word == "Corliss"


def test_unusual_words_show_the_entry_that_covers_them(fanfic: Path) -> None:
    lex = full_lexicon({"sha'werthalen": "shah wer thah len"})
    found = {u.word: u.entry for u in unusual_words(analyze(fanfic), lex)}
    assert found["sha'werthalen"] == Entry("sha'werthalen", "shah wer thah len", "story")
    assert found["Kandor"] is None


def test_counting_merges_spellings_and_skips_numerals() -> None:
    counts = count_unusual(["Zorvath and ZORVATH's ship, Zorvath!", "Chapter XIV", "Mr. Vell"])
    assert counts == [("Zorvath", 3), ("Vell", 1)]


def test_contractions_and_inflections_are_not_unusual() -> None:
    text = (
        "I'll go, I've gone, I'd said, they'll, shouldn't've, Clark'll, y'all, ma'am. "
        "She was tasering him, hurrying, stopped, the bravest, unfriendly, babies, "
        "Kryptonians and a Kryptonian, Zorvaths, Zorvath."
    )
    assert count_unusual([text]) == [("Kryptonian", 2), ("Zorvath", 2)]


# --- the CLI ------------------------------------------------------------------------


def test_cli_add_list_and_test(fanfic: Path, tmp_path: Path, _own_config: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["lexicon", "add", "Kal-El", "Kal Ell"])
    assert done.exit_code == 0, done.output
    assert (_own_config / "lexicon.txt").read_text("utf-8").endswith("Kal-El = Kal Ell\n")

    done = runner.invoke(
        main, ["lexicon", "add", "sha'werthalen", "[[ ʃˈɑːwɚθˈɑːlən ]]", "--story", str(fanfic)]
    )
    assert done.exit_code == 0, done.output
    assert load_sidecar(fanfic).lexicon == {"sha'werthalen": "[[ ʃˈɑːwɚθˈɑːlən ]]"}

    done = runner.invoke(main, ["lexicon", "list", "--story", str(fanfic), "--unusual", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    levels = {e["word"]: e["level"] for e in data["entries"]}
    assert levels["Kal-El"] == "user" and levels["sha'werthalen"] == "story"
    assert levels["Niamh"] == "built-in"
    assert data["unusual"][0]["count"] == 3
    assert {"word": "Kandor", "count": 1, "said": None} in data["unusual"]

    wav = tmp_path / "kal.wav"
    done = runner.invoke(
        main,
        ["lexicon", "test", "Kal-El", "--story", str(fanfic), "--engine", "tone", "-o", str(wav)],
    )
    assert done.exit_code == 0, done.output
    assert "Kal-El -> Kal Ell" in done.output
    with wave.open(str(wav)) as w:
        assert w.getnframes() > 0.2 * w.getframerate()


def test_cli_refuses_a_bad_entry_in_one_line() -> None:
    done = CliRunner().invoke(main, ["lexicon", "add", "Kal-El", "[[ kæl"])
    assert done.exit_code == 1
    assert done.output.count("\n") == 1 and "phonemes" in done.output


@pytest.mark.voice
def test_piper_reads_phoneme_entries(tmp_path: Path) -> None:
    from audiobook.engine import PiperEngine
    from audiobook.voices import find_voice

    voice = find_voice("joe", discover_voices(()))
    engine = PiperEngine()
    word = engine.synthesize("hello", voice)
    phonemes = engine.synthesize("[[ həlˈoʊ ]]", voice)
    # read as phonemes it is one word; read as text it would be brackets and symbols
    assert 0.6 < len(phonemes) / len(word) < 1.6
