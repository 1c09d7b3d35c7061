"""The Cast tab, driven from the keyboard: voice, preview, rename, gender, merge, split."""

from __future__ import annotations

import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable

from audiobook.sidecar import load_sidecar
from audiobook.tui.app import AudiobookApp
from audiobook.tui.cast_pane import NARRATION, CastPane

Ready = Callable[[Pilot[None]], Awaitable[AudiobookApp]]


def cell(app: AudiobookApp, row: str, column: str) -> str:
    table: DataTable[object] = app.query_one("#cast-table", DataTable)
    return str(table.get_cell(row, column))


async def select(pilot: Pilot[None], name: str) -> None:
    pilot.app.query_one(CastPane).select(name)
    await pilot.pause()


async def test_opens_on_the_cast_narration_first(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        table: DataTable[object] = app.query_one("#cast-table", DataTable)
        keys = [r.key.value for r in table.ordered_rows]
        assert keys[0] == NARRATION
        assert set(keys[1:]) == {"Marguerite Hale", "Tobias Hale", "Agnes Corliss", "Ned Corliss"}
        assert cell(app, "Tobias Hale", "voice") == "joe-deep"
        assert cell(app, "Agnes Corliss", "gender") == "female"
        assert app.title == "The Lighthouse at Gull Point"


async def test_change_voice_with_type_to_filter(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await select(pilot, "Ned Corliss")
        await pilot.press("v", *"clear", "enter")
        await ready(pilot)
        assert cell(app, "Ned Corliss", "voice") == "joe-clear"
        assert load_sidecar(pinned).voices["Ned Corliss"] == "joe-clear"
        # The narration row changes the narrator voice.
        await select(pilot, NARRATION)
        await pilot.press("v", *"older", "enter")
        await ready(pilot)
        assert load_sidecar(pinned).narrator_voice == "joe-older"
        # Esc leaves everything as it was.
        await pilot.press("v", *"bri", "escape")
        await ready(pilot)
        assert load_sidecar(pinned).narrator_voice == "joe-older"


async def test_preview_writes_a_wav_of_the_characters_line(
    pinned: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await select(pilot, "Agnes Corliss")
        await pilot.press("l")
        await ready(pilot)
        wavs = list((tmp_path / "cache" / "previews").glob("joe-warm-*.wav"))
        assert len(wavs) == 1
        with wave.open(str(wavs[0])) as w:
            assert w.getnframes() > w.getframerate() // 2  # a real line, not a blip
        # No player here (AUDIOBOOK_PLAYER=none): the user is told where the file is.
        assert any(str(wavs[0]) in n.message for n in app._notifications)


async def test_rename(pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await select(pilot, "Tobias Hale")
        await pilot.press("r", "ctrl+u", *"Keeper Hale", "enter")
        await ready(pilot)
        assert cell(app, "Keeper Hale", "voice") == "joe-deep"
        saved = load_sidecar(pinned)
        assert [c.name for c in saved.roster or []].count("Keeper Hale") == 1
        assert saved.voices["Keeper Hale"] == "joe-deep"
        assert app.query_one(CastPane).selected() == "Keeper Hale"


async def test_set_gender(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await select(pilot, "Ned Corliss")
        await pilot.press("g", *"fem", "enter")
        await ready(pilot)
        assert cell(app, "Ned Corliss", "gender") == "female"
        ned = next(c for c in load_sidecar(pinned).roster or [] if c.name == "Ned Corliss")
        assert ned.gender == "female"


async def test_merge_then_split(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        before = int(cell(app, "Agnes Corliss", "lines"))
        ned = int(cell(app, "Ned Corliss", "lines"))
        await select(pilot, "Ned Corliss")
        await pilot.press("m", *"agnes", "enter")
        await ready(pilot)
        table: DataTable[object] = app.query_one("#cast-table", DataTable)
        assert "Ned Corliss" not in [r.key.value for r in table.ordered_rows]
        assert int(cell(app, "Agnes Corliss", "lines")) == before + ned
        assert "Ned Corliss" in cell(app, "Agnes Corliss", "aliases")
        # ...and back out again.
        await select(pilot, "Agnes Corliss")
        await pilot.press("a", *"ned corliss", "enter")
        await ready(pilot)
        assert "Ned Corliss" in [r.key.value for r in table.ordered_rows]
        agnes = next(c for c in load_sidecar(pinned).roster or [] if c.name == "Agnes Corliss")
        assert "Ned Corliss" not in agnes.aliases and "Agnes" in agnes.aliases


async def test_narration_row_has_no_name_to_edit(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        before = pinned.with_name(pinned.name + ".audiobook.toml").read_text()
        await select(pilot, NARRATION)
        await pilot.press("r", "g", "m", "a")
        await ready(pilot)
        assert len(app.screen_stack) == 1  # no dialog opened
        assert pinned.with_name(pinned.name + ".audiobook.toml").read_text() == before


async def test_speed_per_character_is_saved_and_recast(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await select(pilot, "Ned Corliss")
        await pilot.press("s", *"1.25", "enter")
        await ready(pilot)
        assert load_sidecar(pinned).speeds == {"Ned Corliss": 1.25}
        assert app.session is not None
        # The voice the render uses reads faster (Piper's length scale), others don't.
        cast = app.session.casting.voices["Ned Corliss"]
        own = next(v for v in app.session.library if v.name == cast.name)
        assert abs(cast.tempo - own.tempo * 1.25) < 1e-9
        await select(pilot, NARRATION)
        await pilot.press("s", *"0.9", "enter")
        await ready(pilot)
        assert load_sidecar(pinned).narrator_speed == 0.9
        # Back to the voice's own speed: the entry goes.
        await select(pilot, "Ned Corliss")
        await pilot.press("s", *"own", "enter")
        await ready(pilot)
        assert load_sidecar(pinned).speeds == {}
