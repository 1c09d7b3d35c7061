"""The Render tab, and that a batch render honours what was decided in the UI."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3
from textual.pilot import Pilot
from textual.widgets import ProgressBar

from audiobook.cli import main
from audiobook.review import uncertain
from audiobook.tui.app import AudiobookApp
from audiobook.tui.cast_pane import NARRATION, CastPane
from audiobook.tui.messages import RenderUpdate
from audiobook.tui.render_pane import RenderPane
from audiobook.tui.script_pane import ScriptPane

Ready = Callable[[Pilot[None]], Awaitable[AudiobookApp]]
BOOK = Path("Ada Finch") / "Two Bells"


async def test_render_one_chapter(
    small: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(small)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("3", "down", "c")  # the second chapter
        await ready(pilot)
        pane = app.query_one(RenderPane)
        assert pane.cancel_event is None and pane.last_folder == tmp_path / "out" / BOOK
        assert [p.name for p in sorted(pane.last_folder.glob("*.mp3"))] == [
            "02 - Chapter 2 Evening.mp3"
        ]
        assert app.query_one("#bar-1", ProgressBar).percentage == 1.0
        assert app.query_one("#bar-0", ProgressBar).percentage == 0.0
        assert app.query_one("#bar-overall", ProgressBar).percentage == 1.0
        assert str(pane.last_folder) in str(app.query_one("#render-status").render())


async def test_render_whole_book_reports_per_chapter_progress(
    small: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    updates: list[RenderUpdate] = []

    def hook(msg: object) -> None:
        if isinstance(msg, RenderUpdate):
            updates.append(msg)

    app = make_app(small)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await ready(pilot)
        await pilot.press("3", "b")
        await ready(pilot)
    assert len(list((tmp_path / "out" / BOOK).glob("*.mp3"))) == 2
    assert (tmp_path / "out" / BOOK / "Two Bells.m3u8").exists()
    assert updates and set(updates[-1].chapters) == {0, 1}
    overall = [u.overall for u in updates]
    assert overall == sorted(overall) and overall[-1] == 1.0  # never goes backwards
    # Chapter 1 finishes (is encoded) before chapter 2 does.
    first_done = next(n for n, u in enumerate(updates) if u.chapters[0] == 1.0)
    assert updates[first_done].chapters[1] < 1.0


async def test_cancel_stops_the_render_and_keeps_finished_work(
    long_story: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    story = long_story
    cancelled = False

    app = make_app(story)

    def hook(msg: object) -> None:
        nonlocal cancelled
        if isinstance(msg, RenderUpdate) and not cancelled:
            cancelled = True
            app.query_one(RenderPane).action_cancel()  # as pressing x does

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await ready(pilot)
        chapters = len(app.session.script.chapters) if app.session else 0
        await pilot.press("3", "b")
        await ready(pilot)
        pane = app.query_one(RenderPane)
        assert cancelled and pane.cancel_event is None and pane.last_folder is None
        assert "Cancelled" in str(app.query_one("#render-status").render())
    made = list(tmp_path.glob("out/**/*.mp3"))
    assert chapters > 10 and len(made) < chapters


async def test_decisions_made_in_the_ui_drive_a_batch_render(
    small: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(small)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.query_one(CastPane).select(NARRATION)
        await pilot.press("v", *"bright", "enter")  # narration voice: joe-bright
        assert app.session is not None
        segs = app.session.script.segments
        first = next(i for i, s in enumerate(segs) if s.kind == "dialogue")
        assert segs[first].speaker == "Oona"
        await pilot.press("2")
        app.query_one(ScriptPane).go_to(first)
        await pilot.press("s", *"bram", "enter")  # give Oona's line to Bram
        await pilot.pause()
        line = app.session.script.segments[first]
        await pilot.press("q")
    assert line.speaker == "Bram"

    out = tmp_path / "batch"
    r = CliRunner().invoke(
        main, ["make", "--engine", "tone", "--jobs", "1", str(small), "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    mp3 = sorted((out / BOOK).glob("*.mp3"))[0]
    assert str(ID3(mp3)["TCOM"]) == "joe-bright"  # the narrator credit is the voice used

    r = CliRunner().invoke(main, ["script", str(small), "--json"])
    seg = next(s for s in json.loads(r.stdout)["segments"] if s["start"] == line.start)
    assert seg["speaker"] == "Bram" and seg["sieve"] == "user"


async def test_open_a_15k_story_shows_the_cast_quickly(long_story: Path) -> None:
    """The issue's bar is 3 s for a cold start (benchmarks/tui_open.py measures that);
    here, in a warm process on a shared machine, allow the same from app start."""
    import time

    from textual.widgets import DataTable

    story = long_story
    assert len(story.read_text(encoding="utf-8")) >= 15_000
    t0 = time.perf_counter()
    app = AudiobookApp(story, engine="tone")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one("#cast-table", DataTable)
        while table.row_count < 2 and time.perf_counter() - t0 < 10:
            await pilot.pause(0.01)
        elapsed = time.perf_counter() - t0
    assert table.row_count >= 2
    assert elapsed < 3.0, f"cast shown after {elapsed:.2f} s"


@pytest.mark.voice
async def test_render_smoke_with_the_real_voice(
    write_story: Callable[..., Path],
    tmp_path: Path,
    make_app: Callable[..., AudiobookApp],
    ready: Ready,
) -> None:
    story = write_story(
        'Chapter 1: Tea\n\nThe kettle sang.\n\n"Is it ready?" asked Pell.\n', name="tea.txt"
    )
    app = make_app(story, engine="piper")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.session is not None and not any(
            uncertain(s) for s in app.session.script.segments
        )
        await pilot.press("3", "b")
        await ready(pilot)
        folder = app.query_one(RenderPane).last_folder
    assert folder is not None
    mp3s = list(folder.glob("*.mp3"))
    assert len(mp3s) == 1 and mp3s[0].stat().st_size > 4000
