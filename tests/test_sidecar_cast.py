"""The sidecar round-trips and is honoured; casting is distinct, gendered, stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiobook.cast import cast_voices
from audiobook.errors import CastError
from audiobook.model import BookMeta, Character, Script, Segment
from audiobook.sidecar import Sidecar, SpeakerFix, load_sidecar, save_sidecar, sidecar_path
from audiobook.voices import discover_voices


def test_roundtrip_keeps_unknown_keys(tmp_path: Path) -> None:
    story = tmp_path / "s.txt"
    story.write_text("x", encoding="utf-8")
    sc = Sidecar(
        path=sidecar_path(story),
        title="T",
        narrator_voice="joe",
        voices={"Ann": "joe-high"},
        roster=[Character("Ann Lee", ["Ann"], "female")],
        fixes=[SpeakerFix(3, 9, "Ann Lee", "hello")],
        extra={"mine": {"k": 1}},
    )
    save_sidecar(sc)
    back = load_sidecar(story)
    assert back.title == "T" and back.narrator_voice == "joe"
    assert back.voices == {"Ann": "joe-high"}
    assert back.roster is not None and back.roster[0].aliases == ["Ann"]
    assert back.fixes == [SpeakerFix(3, 9, "Ann Lee", "hello")]
    assert back.extra == {"mine": {"k": 1}}
    assert not list(tmp_path.glob("*.part"))


def test_broken_sidecar_names_the_file(tmp_path: Path) -> None:
    story = tmp_path / "s.txt"
    sidecar_path(story).write_text("[cast\n", encoding="utf-8")
    with pytest.raises(CastError) as e:
        load_sidecar(story)
    assert "s.txt.audiobook.toml" in str(e.value)


def _script(chars: list[Character]) -> Script:
    return Script(
        source=Path("x.txt"),
        format="text",
        text="",
        meta=BookMeta(),
        chapters=[],
        characters=chars,
        segments=[],
    )


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
    with pytest.raises(CastError) as e:
        cast_voices(_script(chars), lib, Sidecar(path=tmp_path / "c.toml", voices={"Ann": "zed"}))
    assert "zed" in str(e.value) and "c.toml" in str(e.value)
