"""The sidecar round-trips and names itself in errors (casting: tests/test_cast.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiobook.errors import CastError
from audiobook.model import Character
from audiobook.sidecar import Sidecar, SpeakerFix, load_sidecar, save_sidecar, sidecar_path


def test_roundtrip_keeps_unknown_keys(tmp_path: Path) -> None:
    story = tmp_path / "s.txt"
    story.write_text("x", encoding="utf-8")
    sc = Sidecar(
        path=sidecar_path(story),
        title="T",
        narrator_voice="joe",
        voices={"Ann": "joe-clear"},
        roster=[Character("Ann Lee", ["Ann"], "female")],
        fixes=[SpeakerFix(3, 9, "Ann Lee", "hello")],
        extra={"mine": {"k": 1}},
    )
    save_sidecar(sc)
    back = load_sidecar(story)
    assert back.title == "T" and back.narrator_voice == "joe"
    assert back.voices == {"Ann": "joe-clear"}
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
