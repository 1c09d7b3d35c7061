"""TUI fixtures: the example story in tmp_path, the tone engine, no audio player.

``pinned`` adds a sidecar that settles the whole cast and every line, so screens drawn
from it do not change when attribution improves (snapshots depend only on the UI).
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from audiobook.analyze import analyze
from audiobook.model import Character
from audiobook.sidecar import Sidecar, SpeakerFix, save_sidecar, sidecar_path
from audiobook.tui.app import AudiobookApp

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"

# Who says each line of the example, by the line's first words.
SPEAKERS = {
    "Eleven": "Marguerite Hale",
    "There should be": "Marguerite Hale",
    "The Corliss boy": "Tobias Hale",
    "It isn't every": "Marguerite Hale",
    "No,": "Tobias Hale",
    "It isn't.": "Tobias Hale",
    "Has he": "Agnes Corliss",
    "Tell me": "Agnes Corliss",
    "Not yet": "Tobias Hale",
    "But the lamp": "Tobias Hale",
    "Do you hear": "Agnes Corliss",
    "The bell buoy": "Marguerite Hale",
    "No, child": "Agnes Corliss",
    "That's": "Agnes Corliss",
    "You're all right": "Marguerite Hale",
    "I saw the light": "Ned Corliss",
    "I lost": "Ned Corliss",
    "Now you know": "Tobias Hale",
    "People think": "Tobias Hale",
    "Isn't it": "Marguerite Hale",
    "It's for the one": "Tobias Hale",
    "Every night": "Tobias Hale",
}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (Pilot needs a loop) without an async pytest plugin."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Previews never reach a real speaker; the engine is the fast fake."""
    monkeypatch.setenv("AUDIOBOOK_PLAYER", "none")
    monkeypatch.setenv("AUDIOBOOK_ENGINE", "tone")


@pytest.fixture
def story(tmp_path: Path) -> Path:
    dest = tmp_path / "stories" / EXAMPLE.name
    dest.parent.mkdir(parents=True)
    shutil.copy(EXAMPLE, dest)
    return dest


@pytest.fixture
def pinned(story: Path) -> Path:
    """The example with a reviewed cast, voices and a speaker for every line."""
    script = analyze(story, sidecar=Sidecar(path=sidecar_path(story)))
    fixes = []
    for seg in script.segments:
        if seg.kind == "dialogue":
            who = next(v for k, v in SPEAKERS.items() if seg.text.startswith(k))
            fixes.append(SpeakerFix(seg.start, seg.end, who, seg.text))
    save_sidecar(
        Sidecar(
            path=sidecar_path(story),
            narrator_voice="joe",
            voices={
                "Marguerite Hale": "joe-bright",
                "Tobias Hale": "joe-deep",
                "Agnes Corliss": "joe-warm",
                "Ned Corliss": "joe-older",
            },
            roster=[
                Character("Marguerite Hale", ["Marguerite"], "female", narrator=True),
                Character("Tobias Hale", ["Tobias"], "male"),
                Character("Agnes Corliss", ["Agnes"], "female"),
                Character("Ned Corliss", ["Ned"], "male"),
            ],
            fixes=fixes,
        )
    )
    return story


SMALL = """Title: Two Bells
Author: Ada Finch


Chapter 1: Morning

The bell rang twice. Oona set down her cup.

"That's the ferry," Oona said.

"It's early," said Bram.


Chapter 2: Evening

The harbour lamps came on one by one.

"Home again," Bram said.
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A two-chapter story short enough to render in a second with the tone engine."""
    dest = tmp_path / "stories" / "two-bells.txt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(SMALL, encoding="utf-8")
    return dest


@pytest.fixture
def long_story(story: Path) -> Path:
    """The benchmark's 15k-character story (the example's chapters, repeated)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tui_open", ROOT / "benchmarks" / "tui_open.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path: Path = mod.long_story(story.with_name("long.txt"))
    return path


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., AudiobookApp]:
    def make(path: Path, **kwargs: object) -> AudiobookApp:
        options: dict[str, object] = {
            "engine": "tone",
            "out_dir": tmp_path / "out",
            "jobs": 1,
            "cache_dir": tmp_path / "cache",
        }
        options.update(kwargs)
        app = AudiobookApp(path, **options)  # type: ignore[arg-type]
        app.animation_level = "none"  # nothing to wait for between key presses
        return app

    return make


async def settle(pilot: Pilot[None]) -> AudiobookApp:
    """Wait for the story to load, its re-analyses and any other worker to finish, and
    the screen to settle: a worker's last message may start another worker."""
    app = pilot.app
    assert isinstance(app, AudiobookApp)
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        idle = not any(w.is_running for w in app.workers)
        if app.load_error is not None or (idle and app.session is not None and app.session.settled):
            break
    return app


@pytest.fixture
def ready() -> Callable[[Pilot[None]], Awaitable[AudiobookApp]]:
    """``app = await ready(pilot)``: the loaded app (a fixture, so tests need no import)."""
    return settle
