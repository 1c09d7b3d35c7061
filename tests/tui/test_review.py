"""The decisions behind the UI, without the UI: each edits, re-analyses and saves."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiobook.errors import CastError
from audiobook.model import Segment
from audiobook.review import Session, uncertain
from audiobook.sidecar import load_sidecar


def line(s: Session, starts: str) -> Segment:
    return next(x for x in s.script.segments if x.kind == "dialogue" and x.text.startswith(starts))


def test_rename_moves_voice_and_lines_and_keeps_old_name_findable(pinned: Path) -> None:
    s = Session(pinned)
    before = s.script.character("Tobias Hale")
    assert before is not None and before.lines > 0
    s.rename("Tobias Hale", "Papa Hale")
    saved = load_sidecar(pinned)
    assert saved.voices.get("Papa Hale") == "joe-deep" and "Tobias Hale" not in saved.voices
    papa = s.script.character("Papa Hale")
    assert papa is not None and papa.lines == before.lines
    assert "Tobias Hale" in papa.aliases  # the text still says "Tobias Hale"
    assert all(f.speaker != "Tobias Hale" for f in saved.fixes)


def test_rename_to_an_existing_name_is_refused(pinned: Path) -> None:
    s = Session(pinned)
    with pytest.raises(CastError, match="merge"):
        s.rename("Tobias Hale", "Ned Corliss")


def test_merge_keeps_aliases_and_split_undoes_it(pinned: Path) -> None:
    s = Session(pinned)
    ned = s.script.character("Ned Corliss")
    assert ned is not None
    s.merge("Ned Corliss", "Tobias Hale")
    assert s.script.character("Ned Corliss") is None
    tobias = s.script.character("Tobias Hale")
    assert tobias is not None and {"Ned Corliss", "Ned", "Tobias"} <= set(tobias.aliases)
    assert "Ned Corliss" not in load_sidecar(pinned).voices
    s.split("Tobias Hale", "Ned Corliss")
    back = s.script.character("Ned Corliss")
    assert back is not None and "Ned Corliss" in s.casting.voices
    assert [c.name for c in load_sidecar(pinned).roster or []].count("Ned Corliss") == 1


def test_set_gender_recasts_only_a_voice_that_no_longer_fits(pinned: Path) -> None:
    s = Session(pinned)
    s.set_gender("Ned Corliss", "female")  # joe-older is male
    assert s.script.character("Ned Corliss").gender == "female"  # type: ignore[union-attr]
    assert s.casting.voices["Ned Corliss"].gender in ("female", "unknown")
    s.set_gender("Agnes Corliss", "unknown")  # joe-warm still fits "unknown"
    assert load_sidecar(pinned).voices["Agnes Corliss"] == "joe-warm"


def test_reassign_is_a_fix_that_wins_and_a_new_name_joins_the_cast(pinned: Path) -> None:
    s = Session(pinned)
    s.reassign(line(s, "The bell buoy"), "Harbour Master")
    seg = line(s, "The bell buoy")
    assert seg.speaker == "Harbour Master" and seg.sieve == "user" and not uncertain(seg)
    assert s.script.character("Harbour Master") is not None
    fixes = [f for f in load_sidecar(pinned).fixes if f.text.startswith("The bell buoy")]
    assert len(fixes) == 1 and fixes[0].speaker == "Harbour Master"


def test_reassign_to_the_narration_voice_sticks(pinned: Path) -> None:
    s = Session(pinned)
    s.reassign(line(s, "The bell buoy"), None)
    seg = line(s, "The bell buoy")
    assert seg.speaker is None and not uncertain(seg)
    fixes = [f for f in load_sidecar(pinned).fixes if f.text.startswith("The bell buoy")]
    assert len(fixes) == 1 and fixes[0].speaker is None


def test_toggle_read_stores_only_exceptions(pinned: Path) -> None:
    s = Session(pinned)
    nar = next(x for x in s.script.segments if x.kind == "narration")
    front = next(x for x in s.script.segments if x.kind == "skip")
    assert s.is_read(nar) and not s.is_read(front)
    assert s.toggle_read(nar) is False and s.toggle_read(front) is True
    marks = load_sidecar(pinned).extra["passages"]
    assert {(m["start"], m["read"]) for m in marks} == {(nar.start, False), (front.start, True)}
    s.toggle_read(nar)
    s.toggle_read(front)
    assert "passages" not in load_sidecar(pinned).extra


def test_uncertain_lines() -> None:
    def seg(**kw: object) -> Segment:
        return Segment(kind="dialogue", start=0, end=1, text="x", chapter=0, **kw)  # type: ignore[arg-type]

    assert uncertain(seg(speaker=None))
    assert uncertain(seg(speaker="A", confidence=0.5))
    assert not uncertain(seg(speaker="A", confidence=0.9))
    assert not uncertain(seg(speaker=None, confidence=1.0, sieve="user"))
    narration = Segment(kind="narration", start=0, end=1, text="x", chapter=0)
    assert not uncertain(narration)
