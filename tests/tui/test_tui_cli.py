"""``audiobook tui STORY`` and ``audiobook STORY``: reaching the app from the shell."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from textual.pilot import Pilot

from audiobook.cli import main
from audiobook.preview import play, preview_text
from audiobook.review import Session
from audiobook.tui.app import AudiobookApp

Ready = Callable[[Pilot[None]], Awaitable[AudiobookApp]]


def test_a_story_path_alone_means_tui(story: Path) -> None:
    ctx = main.make_context("audiobook", [str(story)])
    assert isinstance(main, click.Group)
    name, cmd, rest = main.resolve_command(ctx, [str(story)])
    assert name == "tui" and cmd is not None and rest == [str(story)]
    # Commands still win, and a typo is still an error, not a story.
    assert main.resolve_command(ctx, ["voices"])[0] == "voices"
    r = CliRunner().invoke(main, ["no-such-story.txt"])
    assert r.exit_code == 2 and "No such command" in r.output


def test_tui_needs_an_existing_story(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["tui", str(tmp_path / "missing.txt")])
    assert r.exit_code == 2 and "does not exist" in r.output


async def test_a_story_that_cannot_be_read_ends_the_app_with_its_error(
    tmp_path: Path, make_app: Callable[..., AudiobookApp]
) -> None:
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    app = make_app(bad)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):  # the app exits by itself once the load has failed
            if app.load_error is not None:
                break
            await pilot.pause(0.02)
    assert app.return_code == 1
    assert app.load_error is not None and "empty.txt" in str(app.load_error)


def test_preview_plays_through_the_configured_player(
    pinned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "played.txt"
    monkeypatch.setenv("AUDIOBOOK_PLAYER", f"sh -c 'echo \"$0\" > {out}'")
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF")
    assert play(wav)
    for _ in range(100):
        if out.exists() and out.read_text().strip():
            break
        time.sleep(0.02)
    assert out.read_text().strip() == str(wav)
    monkeypatch.setenv("AUDIOBOOK_PLAYER", "none")
    assert not play(wav)
    # The previewed line is one the character really says, and a long one.
    s = Session(pinned)
    text = preview_text(s.script, "Agnes Corliss")
    assert text.startswith("That's an oar")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_audiobook_story_opens_the_app_and_q_exits_0(story: Path, tmp_path: Path) -> None:
    """The real command in a real (pseudo) terminal, as a user starts it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", AUDIOBOOK_ENGINE="tone")
    exe = Path(sys.executable).with_name("audiobook")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "audiobook.cli"]
    proc = subprocess.Popen(
        [*cmd, str(story)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""

    def read_until(needle: bytes, seconds: float) -> bool:
        nonlocal seen
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    return needle in seen
            if needle in seen:
                return True
        return False

    try:
        assert read_until(b"Agnes", 20), seen[-2000:]
        os.write(master, b"q")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
