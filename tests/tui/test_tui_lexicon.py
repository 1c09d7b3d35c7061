"""The pronunciation screen (key 4): the story's unusual words, fixed before a render."""

from __future__ import annotations

import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from audiobook.sidecar import load_sidecar
from audiobook.tui.app import AudiobookApp
from audiobook.tui.lexicon_pane import LexiconScreen

Ready = Callable[[Pilot[None]], Awaitable[AudiobookApp]]

TALE = """Title: The Vell Crossing
Author: Ada Finch


Chapter 1: Ash

Zorvath watched the river. "Kal-El will come," said Mirelle.

"KAL-EL is late," Zorvath said. "He is always late, sha'werthalen."

Mirelle laughed at the old Vell word and took his hand.
"""


@pytest.fixture(autouse=True)
def _own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOBOOK_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def tale(tmp_path: Path) -> Path:
    path = tmp_path / "stories" / "the-vell-crossing.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TALE, encoding="utf-8")
    return path


def rows(app: AudiobookApp) -> list[tuple[str, str, str]]:
    table: DataTable[object] = app.screen.query_one("#lex-table", DataTable)
    return [
        tuple(str(table.get_cell(r.key, c)) for c in ("word", "uses", "said"))  # type: ignore[misc]
        for r in table.ordered_rows
    ]


async def test_key_4_lists_the_unusual_words_most_used_first(
    tale: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(tale)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("4")
        await pilot.pause()
        assert isinstance(app.screen, LexiconScreen)
        listed = rows(app)
        assert [w for w, _, _ in listed][:2] == ["Zorvath", "Kal-El"]
        assert ("Mirelle", "2", "as written") in listed
        assert ("sha'werthalen", "1", "as written") in listed
        assert not any(w in ("river", "Ada", "Finch") for w, _, _ in listed)
        detail = str(app.screen.query_one("#lex-detail").render())
        assert "Zorvath in the story: Zorvath watched the river." in detail
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LexiconScreen)


async def test_say_a_word_as_a_respelling_then_remove_it(
    tale: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(tale)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("4", "down")  # onto Kal-El
        await pilot.pause()
        await pilot.press("enter", "ctrl+u", *"Kal Ell", "enter")
        await pilot.pause()
        assert load_sidecar(tale).lexicon == {"Kal-El": "Kal Ell"}
        assert ("Kal-El", "2", "Kal Ell") in rows(app)
        # The story's lines say it too, shouted or not.
        detail = str(app.screen.query_one("#lex-detail").render())
        assert "Kal Ell will come" in detail
        await pilot.press("d")
        await pilot.pause()
        assert load_sidecar(tale).lexicon == {}
        assert ("Kal-El", "2", "as written") in rows(app)


async def test_a_bad_entry_is_refused_and_nothing_is_saved(
    tale: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(tale)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("4", "enter", "ctrl+u", *"[[ zor", "enter")
        await pilot.pause()
        assert load_sidecar(tale).lexicon == {}
        assert any("phonemes" in n.message for n in app._notifications)


async def test_listen_speaks_the_word_with_the_narration_voice(
    tale: Path, tmp_path: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(tale)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("4", "l")
        await ready(pilot)
        wavs = list((tmp_path / "cache" / "previews").glob("*.wav"))
        assert len(wavs) == 1
        with wave.open(str(wavs[0])) as w:
            assert w.getnframes() > 0
        assert any("Zorvath" in n.message for n in app._notifications)


async def test_the_example_shows_its_invented_name_first(
    pinned: Path, make_app: Callable[..., AudiobookApp], ready: Ready
) -> None:
    app = make_app(pinned)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("4")
        await pilot.pause()
        assert rows(app)[0][0] == "Corliss"
