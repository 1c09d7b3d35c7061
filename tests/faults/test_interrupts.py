"""Stopping a render half way: Ctrl-C (exit 130, then resume) and kill -9 (resume; no
broken MP3 is ever left under a final name)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from audiobook.render import MANIFEST

from .helpers import (
    TONE,
    Outcome,
    assert_complete_mp3,
    leftovers,
    make,
    mp3s,
    wait_for,
    write,
)

CHAPTERS = 4


def long_story(path: Path) -> Path:
    """Chapters of distinct lines: long enough to stop in the middle."""
    parts = []
    for c in range(1, CHAPTERS + 1):
        parts.append(f"Chapter {c}")
        parts += [f'"Lamp {c}.{i} is lit," said Ines. Tobin wrote it down.' for i in range(4)]
    return write(path, "\n\n".join(parts) + "\n")


def start(story: Path, out: Path, cwd: Path) -> subprocess.Popen[str]:
    # A session of its own, like a shell job: a signal to its group reaches every
    # process of the render (ffmpeg too), as Ctrl-C in a terminal does.
    cmd = [sys.executable, "-m", "audiobook.cli", "make", *TONE, str(story), "-o", str(out)]
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def recorded(out: Path) -> set[Path]:
    """Chapter files the render has recorded as finished (in its manifest)."""
    manifest = out / "Story" / MANIFEST
    try:
        names = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not written yet
        return set()
    return {manifest.parent / name for name in names["files"] if name.endswith(".mp3")}


def stop_after_first_chapter(proc: subprocess.Popen[str], out: Path, sig: int) -> Outcome:
    """Wait until a chapter is finished and recorded, then signal the whole render."""
    assert wait_for(lambda: bool(recorded(out)) or proc.poll() is not None, timeout=60)
    assert proc.poll() is None, "the render finished before it could be stopped"
    os.killpg(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=60)
    return Outcome(proc.returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("sig", "code", "how"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "stopped (SIGTERM)")],
    ids=["SIGINT", "SIGTERM"],
)
def test_ctrl_c_exits_130_and_a_rerun_resumes(
    tmp_path: Path, sig: signal.Signals, code: int, how: str
) -> None:
    """Ctrl-C, and SIGTERM (a service manager, `kill`) handled the same way."""
    story = long_story(tmp_path / "story.txt")
    out = tmp_path / "out"
    stopped = stop_after_first_chapter(start(story, out, tmp_path), out, sig)
    stopped.assert_no_traceback()
    assert stopped.code == code, stopped.stderr
    assert stopped.stderr.splitlines()[-1] == (
        f"audiobook: {how}; finished work is kept, run again to resume"
    )
    assert leftovers(out) == []
    assert 1 <= len(mp3s(out)) < CHAPTERS
    for mp3 in mp3s(out):
        assert_complete_mp3(mp3)
    # A chapter renamed into place just before the signal may not be recorded yet:
    # it is complete, but the re-run makes it again. Recorded ones are kept as they are.
    done = {p: p.stat().st_mtime_ns for p in recorded(out)}
    assert done

    again = make(story, "-o", out)
    assert again.code == 0, again.stderr
    assert len(mp3s(out)) == CHAPTERS
    for mp3 in mp3s(out):
        assert_complete_mp3(mp3)
    # Resumed, not redone: finished chapters are untouched, cached lines reused.
    assert {p: p.stat().st_mtime_ns for p in done} == done
    cached = int(again.stderr.split(" from cache")[0].rsplit(" ", 1)[1])
    assert cached > 0
    assert leftovers(out) == []


def test_kill_9_mid_render_then_rerun(tmp_path: Path) -> None:
    story = long_story(tmp_path / "story.txt")
    out = tmp_path / "out"
    killed = stop_after_first_chapter(start(story, out, tmp_path), out, signal.SIGKILL)
    assert killed.code == -signal.SIGKILL
    # Whatever was under way is lost, but every file under a final name is whole.
    survivors = mp3s(out)
    assert 1 <= len(survivors) < CHAPTERS
    for mp3 in survivors:
        assert_complete_mp3(mp3)

    again = make(story, "-o", out)
    assert again.code == 0, again.stderr
    files = mp3s(out)
    assert [p.name for p in files] == [f"0{c} - Chapter {c}.mp3" for c in range(1, CHAPTERS + 1)]
    for mp3 in files:
        assert_complete_mp3(mp3)
    assert leftovers(out) == []
