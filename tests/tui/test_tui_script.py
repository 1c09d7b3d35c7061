"""The Script tab: n/p through uncertain lines, reassigning a speaker, skipping a passage;
plus help and quitting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from audiobook.review import uncertain
from audiobook.sidecar import Sidecar, SpeakerFix, load_sidecar, save_sidecar, sidecar_path
from audiobook.tui.app import AudiobookApp
from audiobook.tui.dialogs import NEW, HelpScreen, PickerScreen
from audiobook.tui.script_pane import ScriptPane

Ready = Callable[[Pilot[None]], Awaitable[AudiobookApp]]


async def test_n_and_p_visit_every_uncertain_line_in_order(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        segs = app.session.script.segments
        expected = [i for i, s in enumerate(segs) if uncertain(s)]
        assert expected, "the example should leave attribution some doubt"
        pane = app.query_one(ScriptPane)
        await pilot.press("2")
        seen = []
        for _ in expected:
            await pilot.press("n")
            seen.append(pane.current_index())
        assert seen == expected
        assert pane.chapter == segs[expected[-1]].chapter  # n crosses chapters
        await pilot.press("n")  # past the last one: stays put
        assert pane.current_index() == expected[-1]
        for i in reversed(expected[:-1]):
            await pilot.press("p")
            assert pane.current_index() == i


async def test_reassign_with_the_picker_persists_and_settles_the_line(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        pane = app.query_one(ScriptPane)
        await pilot.press("2", "n")
        index = pane.current_index()
        assert index is not None
        seg = app.session.script.segments[index]
        await pilot.press("s")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"ned")  # type-to-filter: only Ned Corliss is left
        assert [v for v in app.screen.shown if not v.startswith(NEW)] == ["Ned Corliss"]
        await pilot.press("enter")
        await ready(pilot)
        after = app.session.script.segments[index]
        assert (after.start, after.speaker, after.sieve) == (seg.start, "Ned Corliss", "user")
        assert pane.current_index() == index  # the cursor stays on the line
        fixes = load_sidecar(story).fixes
        assert [(f.start, f.end, f.speaker) for f in fixes] == [(seg.start, seg.end, "Ned Corliss")]


async def test_reassign_to_a_new_character_typed_in_the_picker(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("2", "n", "s", *"Gull", "enter")
        await ready(pilot)
        assert app.session is not None
        assert app.session.script.character("Gull") is not None
        assert [f.speaker for f in load_sidecar(story).fixes] == ["Gull"]
        assert "Gull" in app.session.casting.voices


async def test_skip_and_read_a_passage(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        pane = app.query_one(ScriptPane)
        await pilot.press("2")
        first = app.session.script.segments[pane.current_index() or 0]
        assert first.kind == "skip"  # the title block: not read by default
        await pilot.press("x")
        await ready(pilot)
        assert load_sidecar(pinned).extra["passages"][0]["read"] is True
        segs = app.session.script.segments
        nxt = next(i for i, s in enumerate(segs) if s.kind == "narration" and s.sieve != "user")
        pane.go_to(nxt)
        await pilot.press("x")
        await ready(pilot)
        marks = {(m["start"], m["read"]) for m in load_sidecar(pinned).extra["passages"]}
        assert (app.session.script.segments[nxt].start, False) in marks
        assert not app.session.is_read(app.session.script.segments[nxt])
        await pilot.press("x")  # and back: read again, the mark is gone
        await ready(pilot)
        marks = {(m["start"], m["read"]) for m in load_sidecar(pinned).extra["passages"]}
        assert (app.session.script.segments[nxt].start, False) not in marks


async def test_chapters_on_the_left_switch_the_lines(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        pane = app.query_one(ScriptPane)
        await pilot.press("2", "left", "down")
        assert pane.chapter == 1
        await pilot.press("enter")  # into the lines of chapter 2
        assert app.focused is pane.lines
        seg = pane.current_segment()
        assert seg is not None and seg.chapter == 1 and seg.kind == "heading"


async def test_a_fix_from_the_sidecar_shows_as_settled(
    story: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    """What the UI shows comes from the same sidecar a batch render reads."""
    from audiobook.analyze import analyze

    line = next(
        s for s in analyze(story, sidecar=Sidecar(sidecar_path(story))).segments if uncertain(s)
    )
    save_sidecar(
        Sidecar(sidecar_path(story), fixes=[SpeakerFix(line.start, line.end, "Ned Corliss")])
    )
    app = make_app(story)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None
        shown = next(s for s in app.session.script.segments if s.start == line.start)
        assert shown.speaker == "Ned Corliss" and not uncertain(shown)


async def test_help_opens_and_closes_and_q_quits_with_status_0(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await ready(pilot)
    assert app.return_code == 0
