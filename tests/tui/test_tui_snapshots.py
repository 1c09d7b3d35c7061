"""What the main screens look like, at the smallest supported size and a roomy one.

Drawn from the pinned example (every line's speaker and every voice fixed in its
sidecar), with the tone engine and no clock, so only a UI change moves a snapshot.
Review changes with ``pytest tests/tui --snapshot-update`` and the HTML report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from audiobook.tui.app import AudiobookApp
from audiobook.tui.cast_pane import CastPane

SIZES = [(80, 24), (120, 40)]


def app_for(story: Path) -> AudiobookApp:
    # A fixed absolute output folder (nothing is rendered): the Render tab shows it, and
    # tmp paths differ per run.
    app = AudiobookApp(story, engine="tone", out_dir=Path("/audiobooks"), jobs=1)
    app.animation_level = "none"
    return app


def before(*keys: str, row: str | None = None) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, AudiobookApp)
        while app.session is None or not app.session.settled:  # the story, then speakers
            await app.workers.wait_for_complete()
            await pilot.pause()
        if row is not None:
            pilot.app.query_one(CastPane).select(row)
        await pilot.press(*keys)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor is drawn at random
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_cast_screen(pinned: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(pinned), terminal_size=size, run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_script_screen(pinned: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    keys = ("2", "down", "down", "down", "down", "down", "down")  # onto the first dialogue
    assert snap_compare(app_for(pinned), terminal_size=size, run_before=before(*keys))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_render_screen(pinned: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(app_for(pinned), terminal_size=size, run_before=before("3"))


def test_voice_picker(pinned: Path, snap_compare: Any) -> None:
    run = before("v", *"warm", row="Agnes Corliss")
    assert snap_compare(app_for(pinned), terminal_size=(80, 24), run_before=run)


def test_help_screen(pinned: Path, snap_compare: Any) -> None:
    assert snap_compare(app_for(pinned), terminal_size=(80, 24), run_before=before("?"))
