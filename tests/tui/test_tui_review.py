"""Reviewing a story: fixes and accepted lines stay put, undo/redo, cleaning the cast,
decisions that follow the text when the story is edited, and the small dialogs."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import Static

from audiobook.cli import main
from audiobook.model import Character
from audiobook.render import MANIFEST
from audiobook.review import Session, uncertain
from audiobook.sidecar import Sidecar, SpeakerFix, load_sidecar, save_sidecar, sidecar_path
from audiobook.tui.app import AudiobookApp
from audiobook.tui.cast_pane import CastPane
from audiobook.tui.dialogs import Choice, ConfirmScreen, PickerScreen
from audiobook.tui.messages import RenderUpdate
from audiobook.tui.render_pane import RenderPane
from audiobook.tui.script_pane import ScriptPane

Ready = Callable[[Pilot[None]], Awaitable[AudiobookApp]]


def script_of(app: AudiobookApp) -> list[tuple[object, ...]]:
    assert app.session is not None
    return [(s.kind, s.speaker, s.confidence, s.sieve) for s in app.session.script.segments]


def decided(app: AudiobookApp) -> dict[int, str | None]:
    """The lines the user settled (fixed or accepted), by index."""
    assert app.session is not None
    segs = app.session.script.segments
    return {i: s.speaker for i, s in enumerate(segs) if s.kind == "dialogue" and s.sieve == "user"}


async def test_a_fix_never_changes_a_fixed_or_accepted_line(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        pane = app.query_one(ScriptPane)
        segs = app.session.script.segments
        dialogue = [i for i, s in enumerate(segs) if s.kind == "dialogue"]
        await pilot.press("2")
        # Accept a guess (enter), then fix lines around it, each to someone else.
        pane.go_to(dialogue[3])
        guess = segs[dialogue[3]].speaker
        await pilot.press("enter")
        await ready(pilot)
        assert decided(app) == {dialogue[3]: guess}
        for n, (i, who) in enumerate(
            [(dialogue[2], "ned"), (dialogue[4], "agnes"), (dialogue[5], "tobias")]
        ):
            before = decided(app)
            pane.go_to(i)
            await pilot.press("s", *who, "enter")
            await ready(pilot)
            after = decided(app)
            assert {k: after[k] for k in before} == before, f"fix {n} moved a settled line"
            assert after[i] is not None and after[i].lower().startswith(who)  # type: ignore[union-attr]
        assert pane.current_index() == dialogue[5]  # the cursor stayed on the fixed line


async def test_undo_restores_the_script_exactly_and_redo_reapplies(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        original = script_of(app)
        saved = load_sidecar(story)
        first = next(i for i, s in enumerate(app.session.script.segments) if uncertain(s))
        await pilot.press("2")
        app.query_one(ScriptPane).go_to(first)
        await pilot.press("s", *"Harbour Master", "enter")
        await ready(pilot)
        fixed = script_of(app)
        assert fixed != original
        await pilot.press("u")
        await ready(pilot)
        assert script_of(app) == original
        assert load_sidecar(story) == saved  # the same decisions (layout may differ)
        assert app.session.script.character("Harbour Master") is None
        await pilot.press("U")
        await ready(pilot)
        assert script_of(app) == fixed
        assert [f.speaker for f in load_sidecar(story).fixes] == ["Harbour Master"]


def test_lines_a_fix_moved_are_reported_and_one_undo_puts_them_back(story: Path) -> None:
    s = Session(story)
    before = [x.speaker for x in s.script.segments]
    # Give every line of the first exchange to one speaker: its neighbours follow.
    line = next(x for x in s.script.segments if x.kind == "dialogue" and x.sieve != "user")
    s.reassign(line, "Stranger")
    assert all(s.script.segments[i].sieve != "user" for i in s.moved)
    assert all(before[i] != s.script.segments[i].speaker for i in s.moved)
    s.undo()
    assert [x.speaker for x in s.script.segments] == before and not s.moved


def with_false_character(story: Path) -> Path:
    """A reviewed cast that lists "Point" (from "Gull Point") as a character, with the
    lines of the example's first exchange given to it."""
    from audiobook.analyze import analyze

    script = analyze(story, sidecar=Sidecar(sidecar_path(story)))
    lines = [s for s in script.segments if s.kind == "dialogue"][:2]
    save_sidecar(
        Sidecar(
            sidecar_path(story),
            roster=[
                Character("Marguerite Hale", ["Marguerite"], "female", narrator=True),
                Character("Tobias Hale", ["Tobias"], "male"),
                Character("Agnes Corliss", ["Agnes", "Point"], "female"),
                Character("Ned Corliss", ["Ned"], "male"),
                Character("Point"),
            ],
            voices={"Point": "joe-airy"},
            fixes=[SpeakerFix(s.start, s.end, "Point", s.text) for s in lines],
        )
    )
    return story


async def test_d_removes_a_false_character_and_reattributes_its_lines(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(with_false_character(story))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        theirs = [i for i, s in enumerate(app.session.script.segments) if s.speaker == "Point"]
        assert len(theirs) >= 2
        app.query_one(CastPane).select("Point")
        await pilot.press("d")
        await ready(pilot)
        assert app.session.script.character("Point") is None
        for i in theirs:
            seg = app.session.script.segments[i]
            assert seg.speaker != "Point" and seg.sieve != "user"  # attributed afresh
        assert any(app.session.script.segments[i].speaker for i in theirs)
        saved = load_sidecar(story)
        assert all("Point" not in [c.name, *c.aliases] for c in saved.roster or [])
        assert "Point" not in saved.voices and not any(f.speaker == "Point" for f in saved.fixes)


def test_merge_adds_names_but_never_a_word_as_an_alias(story: Path) -> None:
    sc = Sidecar(
        sidecar_path(story),
        roster=[
            Character("Tobias Hale", ["Tobias"], "male"),
            Character("Well", ["Still", "Toby"]),
            Character("Agnes Corliss", ["Agnes"], "female"),
        ],
    )
    save_sidecar(sc)
    s = Session(story)
    s.merge("Well", "Tobias Hale")
    tobias = s.character("Tobias Hale")
    assert "Toby" in tobias.aliases
    assert "Well" not in tobias.aliases and "Still" not in tobias.aliases


async def test_a_gender_change_recasts_unless_the_voice_was_chosen(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        cast = app.query_one(CastPane)
        cast.select("Tobias Hale")  # joe-deep, male, cast automatically
        await pilot.press("g", *"female", "enter")
        await ready(pilot)
        assert app.session.casting.voices["Tobias Hale"].gender == "female"
        assert load_sidecar(pinned).voices["Tobias Hale"] != "joe-deep"
        cast.select("Ned Corliss")
        await pilot.press("v", *"joe-young", "enter")  # chosen by hand...
        await ready(pilot)
        await pilot.press("g", *"female", "enter")  # ...so it stays
        await ready(pilot)
        assert app.session.character("Ned Corliss").gender == "female"
        assert load_sidecar(pinned).voices["Ned Corliss"] == "joe-young"


async def test_the_gender_picker_takes_an_exact_match_first(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.query_one(CastPane).select("Agnes Corliss")
        await pilot.press("g", *"male")
        assert isinstance(app.screen, PickerScreen)
        assert app.screen.shown[0] == "male"
        await pilot.press("enter")
        await ready(pilot)
        assert app.session is not None and app.session.character("Agnes Corliss").gender == "male"
    # The order without typing is the given one.
    picker = PickerScreen("t", [Choice("female", "female"), Choice("male", "male")])
    assert [c.value for c in picker.choices] == ["female", "male"]


def edit_story(story: Path, old: str, new: str) -> None:
    text = story.read_text(encoding="utf-8")
    assert old in text
    story.write_text(text.replace(old, new, 1), encoding="utf-8")


async def test_a_skip_survives_inserting_text_before_it(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        segs = app.session.script.segments
        nar = next(i for i, s in enumerate(segs) if s.kind == "narration" and s.chapter == 1)
        text = segs[nar].text
        await pilot.press("2")
        app.query_one(ScriptPane).go_to(nar)
        await pilot.press("x")
        await ready(pilot)
        await pilot.press("q")
    edit_story(pinned, "Chapter 1", "A word before the story.\n\n\nChapter 1")
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        seg = next(s for s in app.session.script.segments if s.text == text)
        assert seg.kind == "skip"
        assert not app.session.script.unplaced


async def test_a_decision_that_no_longer_fits_is_reported_once(
    pinned: Path,
    make_app: Callable[..., AudiobookApp],
    ready: Ready,
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = next(f for f in load_sidecar(pinned).fixes if f.text.startswith("I lost"))
    edit_story(pinned, line.text, "Gone, all gone,")
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        said = [n.message for n in app._notifications if "no longer matches" in n.message]
        assert len(said) == 1 and "I lost" in said[0]
        await pilot.press("2", "down", "down", "x")  # another decision: no second notice
        await ready(pilot)
        said = [n.message for n in app._notifications if "no longer matches" in n.message]
        assert len(said) == 1
    # The CLI says it once too (a warning on stderr; pytest captures the log record).
    with caplog.at_level(logging.WARNING, logger="audiobook.analyze"):
        r = CliRunner().invoke(main, ["script", str(pinned)])
    assert r.exit_code == 0
    said = [m for m in caplog.messages if "no longer matches" in m]
    assert len(said) == 1 and "I lost" in said[0]


async def test_cast_tab_counts_lines_without_a_speaker(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        n = app.session.unattributed_lines()
        shown = str(app.query_one("#cast-unattributed", Static).render())
        if n:
            assert f"{n} dialogue line" in shown and "narration voice" in shown
        else:
            assert shown.strip() == ""


async def test_title_and_author_are_editable(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("t", "ctrl+u", *"Gull Light", "enter", "ctrl+u", *"W. Aldous", "enter")
        await ready(pilot)
        saved = load_sidecar(pinned)
        assert (saved.title, saved.author) == ("Gull Light", "W. Aldous")
        assert app.title == "Gull Light" and app.sub_title == "W. Aldous"
        await pilot.press("3")
        assert "Gull Light" in str(app.query_one("#render-out", Static).render())


def assert_no_unfinished_chapter(out: Path) -> None:
    """Every chapter file left is one the render finished (the manifest lists it); no
    half-written file is left anywhere."""
    assert not list(out.glob("**/*.part"))
    for mp3 in out.glob("**/*.mp3"):
        manifest = json.loads((mp3.parent / MANIFEST).read_text(encoding="utf-8"))
        made = manifest.get("files", manifest)  # format 2 keeps them under "files"
        assert mp3.name in made, f"{mp3.name} looks finished but was not"


async def test_cancel_leaves_no_chapter_file_for_an_unfinished_chapter(
    long_story: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(long_story)
    updates = 0

    def hook(msg: object) -> None:
        nonlocal updates
        if isinstance(msg, RenderUpdate):
            updates += 1
            if updates == 3:
                app.query_one(RenderPane).action_cancel()  # as pressing x does

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await ready(pilot)
        await pilot.press("3", "b")
        await ready(pilot)
        assert "Cancelled" in str(app.query_one("#render-status", Static).render())
    out = tmp_path / "out"
    assert_no_unfinished_chapter(out)
    if not list(out.glob("**/*.mp3")):  # nothing finished: nothing that looks like a book
        assert not [p for p in out.glob("**/*") if p.is_file()]


async def test_q_during_a_render_asks_then_cancels_cleanly(
    long_story: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(long_story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        pane = app.query_one(RenderPane)
        await pilot.press("3", "b", "q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: keep rendering
        assert not isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("q", "y")
        await pilot.pause()
        event = pane.cancel_event
        assert event is None or event.is_set()
    assert app.return_code == 0
    assert_no_unfinished_chapter(tmp_path / "out")


def test_a_player_that_cannot_play_is_not_taken_for_playing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No sound device: the player gives up at once, and the user is told where the WAV
    is rather than that it is playing."""
    from audiobook.preview import play

    wav = tmp_path / "preview.wav"
    wav.write_bytes(b"")
    monkeypatch.setenv("AUDIOBOOK_PLAYER", "false")
    assert play(wav) is False
    monkeypatch.setenv("AUDIOBOOK_PLAYER", "true")
    assert play(wav) is True
    monkeypatch.setenv("AUDIOBOOK_PLAYER", "none")
    assert play(wav) is False


def test_attribution_in_a_process_of_its_own_gives_the_same_script(
    pinned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a long story gets (its attribution must not hold the UI's GIL)."""
    from audiobook import review

    here = Session(pinned)
    monkeypatch.setattr(review, "PROCESS_CHARS", 0)
    there = Session(pinned, defer=True)
    there.start_process()
    try:
        line = next(s for s in there.script.segments if s.kind == "dialogue")
        there.reassign(line, "Harbour Master")
        here.reassign(line, "Harbour Master")
        assert there.adopt(there.analyse(there.snapshot()))
    finally:
        there.close()
    assert there.script.segments == here.script.segments
    assert [c.name for c in there.script.characters] == [c.name for c in here.script.characters]
