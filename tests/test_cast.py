"""Automatic casting: distinct, gendered, conversation-aware, deterministic; the
sidecar's choices win. Libraries are made of ``Voice`` values (casting never opens a
model), plus the real bundled library and the example story for the acceptance check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from audiobook.analyze import analyze
from audiobook.cast import best_narrator, cast_voices, conversations
from audiobook.errors import CastError
from audiobook.model import BookMeta, Character, Gender, Script, Segment
from audiobook.sidecar import Sidecar
from audiobook.voices import Voice, bundled_voices, discover_voices, variants_of

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "the-lighthouse-at-gull-point.txt"


def _script(chars: list[Character], segments: list[Segment] | None = None) -> Script:
    return Script(
        source=Path("x.txt"),
        format="text",
        text="",
        meta=BookMeta(),
        chapters=[],
        characters=chars,
        segments=segments or [],
    )


def _line(speaker: str | None, chapter: int = 0, scene: int = 0) -> Segment:
    return Segment("dialogue", 0, 1, "x", chapter, scene=scene, speaker=speaker)


def _narration(chapter: int = 0, scene: int = 0) -> Segment:
    return Segment("narration", 0, 1, "x", chapter, scene=scene)


def _voice(name: str, gender: Gender = "unknown", **kw: object) -> Voice:
    model = Path(f"/nowhere/{name.split('#')[0]}.onnx")
    v = Voice(name, model, model.with_name(model.name + ".json"), gender=gender)
    return replace(v, **kw)  # type: ignore[arg-type]


def _cast(script: Script, lib: list[Voice], **sidecar: object) -> dict[str, str]:
    casting = cast_voices(script, lib, Sidecar(path=Path("s.toml"), **sidecar))  # type: ignore[arg-type]
    return {n: v.name for n, v in casting.voices.items()} | {"(narrator)": casting.narrator.name}


# --- conversations ----------------------------------------------------------------


def test_conversations_pair_consecutive_speakers_of_a_scene() -> None:
    segs = [
        _line("Ann"),
        _narration(),  # narration between two lines does not break the exchange
        _line("Bob"),
        _line("Bob"),
        _line(None),  # an unattributed line neither
        _line("Cy"),
        _line("Ann", scene=1),  # a new scene starts afresh: no Cy-Ann
        _line("Dee", scene=1),
        _line("Dee", chapter=1),
        _line("Ann", chapter=1),
    ]
    conv = conversations(segs)
    assert conv.pairs == {
        frozenset({"Ann", "Bob"}): 1,
        frozenset({"Bob", "Cy"}): 1,
        frozenset({"Ann", "Dee"}): 2,
    }
    assert conv.partners("Ann") == {"Bob": 1, "Dee": 2}
    assert conv.scene_mates("Cy") == {"Ann", "Bob"}


# --- choices ------------------------------------------------------------------------


def test_auto_cast_is_distinct_gendered_and_deterministic(tmp_path: Path) -> None:
    lib = discover_voices()
    chars = [
        Character("Ann", gender="female", lines=9),
        Character("Bob", gender="male", lines=7),
        Character("Cy", lines=3),
        Character("Narrator", narrator=True),
    ]
    sc = Sidecar(path=tmp_path / "a.toml")
    casting = cast_voices(_script(chars), lib, sc)
    voices = {n: v.name for n, v in casting.voices.items()}
    assert voices["Narrator"] == casting.narrator.name == "joe"
    others = [voices[n] for n in ("Ann", "Bob", "Cy")]
    assert len(set(others)) == 3 and "joe" not in others
    by_name = {v.name: v for v in lib}
    assert by_name[voices["Ann"]].gender == "female"
    assert by_name[voices["Bob"]].gender in ("male", "unknown")
    assert sc.voices == voices and sc.narrator_voice == "joe"  # recorded for next time
    again = cast_voices(_script(chars), lib, Sidecar(path=tmp_path / "b.toml"))
    assert {n: v.name for n, v in again.voices.items()} == voices


def test_user_choice_wins_and_unknown_voice_is_clear(tmp_path: Path) -> None:
    lib = discover_voices()
    chars = [Character("Ann", gender="female", lines=9), Character("Bob", lines=2)]
    sc = Sidecar(path=tmp_path / "a.toml", voices={"Ann": "joe-deep"})
    casting = cast_voices(_script(chars), lib, sc)
    assert casting.voices["Ann"].name == "joe-deep"
    assert casting.voices["Bob"].name not in ("joe", "joe-deep")
    seg = Segment("dialogue", 0, 1, "x", 0, speaker="Ann")
    assert casting.voice_for(seg).name == "joe-deep"
    assert casting.voice_for(Segment("dialogue", 0, 1, "x", 0)).name == "joe"
    assert casting.voice_for(Segment("narration", 0, 1, "x", 0)).name == "joe"
    with pytest.raises(CastError) as e:
        cast_voices(_script(chars), lib, Sidecar(path=tmp_path / "c.toml", voices={"Ann": "zed"}))
    assert "zed" in str(e.value) and "c.toml" in str(e.value)
    with pytest.raises(CastError, match="narrator"):
        cast_voices(_script(chars), lib, Sidecar(path=tmp_path / "d.toml", narrator_voice="zed"))


def test_partners_never_share_a_voice_while_the_library_allows() -> None:
    # Ann and Cy have the most lines and never meet, so they may share; Bob answers
    # Ann and Dee answers Cy. With two voices besides the narrator's, a cast by line
    # count alone would give Bob Ann's voice.
    chars = [
        Character("Ann", lines=10),
        Character("Cy", lines=9),
        Character("Bob", lines=8),
        Character("Dee", lines=7),
    ]
    segs = [_line("Ann"), _line("Bob"), _line("Ann"), _line("Cy", 1), _line("Dee", 1)]
    lib = [_voice("narr"), _voice("v1"), _voice("v2")]
    got = _cast(_script(chars, segs), lib)
    assert got["(narrator)"] == "narr"
    assert got["Ann"] != got["Bob"] and got["Cy"] != got["Dee"]
    assert "narr" not in (got["Ann"], got["Bob"], got["Cy"], got["Dee"])
    # a user's pick is honoured even when it clashes, and the rest steer around it
    got = _cast(_script(chars, segs), lib, voices={"Bob": "v2"})
    assert got["Bob"] == "v2" and got["Ann"] == "v1"


def test_scene_mates_share_last() -> None:
    # Three voices for four speakers: the one who must share shares with someone from
    # another scene, not with someone in the room.
    chars = [Character(n, lines=9 - i) for i, n in enumerate("ABCD")]
    segs = [_line("A"), _line("B"), _line("C"), _line("D", 1), _line("A", 1)]
    lib = [_voice("narr"), _voice("v1"), _voice("v2"), _voice("v3")]
    got = _cast(_script(chars, segs), lib)
    assert len({got["A"], got["B"], got["C"]}) == 3  # one scene: all different
    assert got["D"] not in (got["A"], "narr")


def test_with_only_joe_women_get_the_women_made_from_him() -> None:
    lib = bundled_voices()
    chars = [Character(f"W{i}", gender="female", lines=20 - i) for i in range(4)]
    chars += [Character(f"M{i}", gender="male", lines=17 - 2 * i) for i in range(3)]
    by_name = {v.name: v for v in lib}
    got = _cast(_script(chars), lib)
    assert {by_name[got[c.name]].gender for c in chars if c.gender == "female"} == {"female"}
    assert {by_name[got[c.name]].gender for c in chars if c.gender == "male"} == {"male"}
    assert len({got[c.name] for c in chars}) == len(chars)


def test_real_voices_play_before_voices_made_from_joe() -> None:
    """A made voice is the stand-in: installed models and speakers go first."""
    fern = _voice("en_US-fern-medium", "female")
    crowd = [_voice(f"crowd#{i}", "female", speaker_id=i) for i in range(2)]
    lib = [*bundled_voices(), *crowd, fern]
    chars = [Character(f"W{i}", gender="female", lines=20 - i) for i in range(4)]
    got = _cast(_script(chars), lib)
    assert {got["W0"], got["W1"], got["W2"]} == {"en_US-fern-medium", "crowd#0", "crowd#1"}
    assert got["W3"].startswith("joe-")  # then the made ones, still women
    assert {v.name: v for v in lib}[got["W3"]].gender == "female"


def test_gender_matched_from_a_mixed_library() -> None:
    base_f = _voice("en_US-fern-medium", "female")
    lib = [*bundled_voices(), base_f, *variants_of(base_f), _voice("crowd#1", speaker_id=1)]
    chars = [
        Character("Ann", gender="female", lines=9),
        Character("Bea", gender="female", lines=8),
        Character("Bob", gender="male", lines=7),
        Character("Cy", lines=6),
    ]
    got = _cast(_script(chars), lib)
    assert got["Ann"] == "en_US-fern-medium"  # another model: most distinct, unprocessed
    assert got["Bea"].startswith("en_US-fern-medium-") or got["Bea"].startswith("joe-")
    assert {v.name: v for v in lib}[got["Bea"]].gender == "female"
    assert got["Bob"].startswith("joe-") and got["Bob"] != "joe"
    assert got["Cy"] == "crowd#1"  # unknown gender: the unshifted other speaker


def test_narrator_gets_the_best_voice_of_the_story_language() -> None:
    joe = bundled_voices()
    high = _voice("en_GB-clear-high", quality="high", language="en_GB")
    german = _voice("de_DE-best-high", quality="high", language="de_DE")
    pitched = replace(high, name="en_GB-clear-high-airy", pitch=9.0)
    assert best_narrator(joe).name == "joe"
    assert best_narrator([*joe, pitched, german, high], "en").name == "en_GB-clear-high"
    assert best_narrator([*joe, german], "en").name == "joe"
    assert best_narrator([*joe, german], "de").name == "de_DE-best-high"
    script = _script([Character("Ann", lines=3)])
    script.meta.language = "de"
    got = _cast(script, [*joe, german, replace(german, name="de_DE-best-high-low", pitch=-3)])
    assert got["(narrator)"] == "de_DE-best-high" and got["Ann"] == "de_DE-best-high-low"


def test_speakers_missing_from_the_character_list_still_get_a_voice() -> None:
    segs = [_line("Ann"), _line("Stranger")]
    got = _cast(_script([Character("Ann", lines=1)], segs), bundled_voices())
    assert got["Stranger"] not in (got["Ann"], "joe")


# --- the acceptance check on the example story --------------------------------------


def test_example_story_cast_is_distinct_from_narrator_and_partners() -> None:
    script = analyze(EXAMPLE)
    casting = cast_voices(script, discover_voices(), Sidecar(path=Path("ex.toml")))
    narrator = casting.narrator.name
    first_person = {c.name for c in script.characters if c.narrator}
    speakers = {s.speaker for s in script.segments if s.kind == "dialogue" and s.speaker}
    assert len(speakers - first_person) >= 3
    for name in speakers - first_person:  # the narrator's own lines are the narrator's
        assert casting.voices[name].name != narrator, name
    pairs = conversations(script.segments).pairs
    assert len(pairs) >= 3
    for pair in pairs:
        a, b = sorted(pair)
        assert casting.voices[a].name != casting.voices[b].name, (a, b)
    voiced = {casting.voices[n].name for n in speakers - first_person}
    assert len(voiced) == len(speakers - first_person)  # ten voices: nobody shares


def test_speeds_multiply_each_voices_tempo_and_keep_its_name() -> None:
    lib = bundled_voices()
    chars = [Character("Ann", gender="female", lines=5), Character("Bob", gender="male", lines=4)]
    sidecar = Sidecar(path=Path("s.toml"), speeds={"Ann": 1.2}, narrator_speed=0.9)
    casting = cast_voices(_script(chars), lib, sidecar, speed=1.25)
    by_name = {v.name: v for v in lib}
    ann, bob = casting.voices["Ann"], casting.voices["Bob"]
    assert ann.tempo == pytest.approx(by_name[ann.name].tempo * 1.25 * 1.2)
    assert bob.tempo == pytest.approx(by_name[bob.name].tempo * 1.25)
    assert casting.narrator.tempo == pytest.approx(1.25 * 0.9)
    assert sidecar.voices == {"Ann": ann.name, "Bob": bob.name}  # names, not speeds
