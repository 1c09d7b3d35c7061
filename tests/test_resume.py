"""Crash safety: a render killed with SIGKILL (no cleanup at all) leaves no truncated or
invalid MP3 under a final name, the next run redoes neither the chapters nor the lines
that were finished, and the pool's helper processes do not outlive it. A real
subprocess with the pool, on the fast tone engine."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mutagen.mp3 import MP3

from audiobook.export import decode_audio
from audiobook.synth import AudioCache

NAMES = ["Oriel", "Battersby", "Quill", "Fennimore", "Sallow", "Ambrose", "Tilde", "Corwen"]


def long_story(chapters: int) -> str:
    """An original story made of varied, repeated scenes: enough audio per chapter that
    encoding takes a moment, so a kill lands in the middle of the run."""
    out = ["Title: The Ferryman's Ledger", "Author: Ines Varga", ""]
    for c in range(chapters):
        a, b = NAMES[c % len(NAMES)], NAMES[(c + 3) % len(NAMES)]
        out += [f"Chapter {c + 1}", ""]
        for p in range(3):
            out += [
                f"The river ran high on the {p + 1}th morning, and {a} counted the barrels "
                f"twice before the ferry left the landing at Cold Harbour.",
                "",
                f'"We are short by {p + 2}," {a} said. "Someone has been at the ledger."',
                "",
                f'"Not me," said {b}, wiping tar from both hands. "Ask the toll clerk."',
                "",
            ]
    return "\n".join(out)


def run_make(story: Path, out: Path, cache: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AUDIOBOOK_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "audiobook.cli", "make", "--engine", "tone", "--jobs", "2"]
    return subprocess.Popen(
        [*cmd, str(story), "-o", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )


def decodes_fully(mp3: Path) -> None:
    """Decodes without an error, and to the length its Xing header promises."""
    pcm, rate = decode_audio(mp3)
    info = MP3(mp3).info
    assert info is not None
    declared = info.length
    assert abs(pcm.size / rate - declared) < 0.1, (mp3.name, pcm.size / rate, declared)
    exe = __import__("imageio_ffmpeg").get_ffmpeg_exe()
    r = subprocess.run(
        [exe, "-v", "error", "-i", str(mp3), "-f", "null", "-"], capture_output=True, text=True
    )
    assert r.returncode == 0 and not r.stderr.strip(), (mp3.name, r.stderr)


def wait_for(predicate: object, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    assert callable(predicate)
    end = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, "the render ended before the kill: make the story longer"
        assert time.monotonic() < end, "timed out waiting for the render"
        time.sleep(0.01)


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)  # (nothing of the group is left to write, but be sure)


def summary(stderr: str) -> tuple[int, int]:
    """(lines, from cache) from the end-of-run summary."""
    m = re.search(r"(\d+) lines, (\d+) from cache", stderr)
    assert m, stderr
    return int(m.group(1)), int(m.group(2))


@pytest.fixture
def story(tmp_path: Path) -> Path:
    path = tmp_path / "stories" / "ledger.txt"
    path.parent.mkdir()
    path.write_text(long_story(6), encoding="utf-8")
    return path


def _recorded(book: Path) -> list[str]:
    """Chapter files the render's manifest lists as finished (none before it exists)."""
    try:
        return list(json.loads((book / ".audiobook-render.json").read_bytes())["files"])
    except (OSError, ValueError, KeyError):  # not written yet, or being replaced
        return []


def test_kill_during_export_then_resume(story: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    book = out / "Ines Varga" / "The Ferryman's Ledger"
    proc = run_make(story, out, cache)
    wait_for(lambda: len(_recorded(book)) >= 2, proc)
    kill(proc)

    finished = sorted(book.glob("*.mp3"))
    assert 2 <= len(finished) < 6
    for mp3 in finished:  # whatever is under a final name is whole
        decodes_fully(mp3)
    manifest = json.loads((book / ".audiobook-render.json").read_text(encoding="utf-8"))
    recorded = {book / name for name in manifest["files"]}
    assert recorded <= set(finished)
    stamps = {p: p.stat().st_mtime_ns for p in recorded}
    cached = AudioCache(cache).stats().entries
    assert cached > 0

    again = run_make(story, out, cache)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    _, hits = summary(err.decode())
    assert hits >= cached  # every line cached before the kill is reused
    assert {p: p.stat().st_mtime_ns for p in recorded} == stamps  # not re-encoded
    mp3s = sorted(book.glob("*.mp3"))
    assert len(mp3s) == 6 and not list(book.glob("*.part"))
    for mp3 in mp3s:
        decodes_fully(mp3)


def test_kill_during_synthesis_leaves_only_whole_cache_entries(story: Path, tmp_path: Path) -> None:
    out, cache_dir = tmp_path / "out", tmp_path / "cache"
    proc = run_make(story, out, cache_dir)
    wait_for(lambda: len(list(cache_dir.rglob("*.pcm"))) >= 5, proc)
    kill(proc)
    cache = AudioCache(cache_dir)
    entries = [p.stem for p in cache_dir.rglob("*.pcm")]
    assert entries and all(cache.valid(k) for k in entries)
    for mp3 in out.rglob("*.mp3"):
        decodes_fully(mp3)

    again = run_make(story, out, cache_dir)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    lines, hits = summary(err.decode())
    assert hits >= len(entries) and lines > hits


def descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_helpers_do_not_outlive_a_killed_render(story: Path, tmp_path: Path) -> None:
    """kill -9 of the render alone: its pool workers (which would wait for work
    forever) and their fork server go too, and leave no MP3 under a final name half
    written."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    book = out / "Ines Varga" / "The Ferryman's Ledger"
    proc = run_make(story, out, cache)
    wait_for(lambda: len(list(book.glob("*.mp3"))) >= 1, proc)
    helpers = descendants(proc.pid)
    assert len(helpers) >= 3  # fork server, workers (and the resource tracker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + 20
    while any(alive(p) for p in helpers) and time.monotonic() < end:
        time.sleep(0.1)
    assert not [p for p in helpers if alive(p)]
    for mp3 in book.glob("*.mp3"):
        decodes_fully(mp3)
