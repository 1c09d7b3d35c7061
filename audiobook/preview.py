"""Hear a voice before committing a long render to it.

A preview is one short line of the character, synthesised with the same engine as the
render, written as a WAV in the cache folder and handed to whatever audio player the
system has. No player, or a player with no sound device to play on (a server, a
container), is fine: the user is told where the WAV is instead of that it is playing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np

from audiobook import fsutil
from audiobook.engine import get_engine
from audiobook.model import Script
from audiobook.speech import spoken_text
from audiobook.synth import default_cache_dir
from audiobook.voices import Voice

# First found wins. ffplay would open a window without -nodisp.
PLAYERS: tuple[tuple[str, ...], ...] = (
    ("paplay",),
    ("aplay", "-q"),
    ("afplay",),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"),
)
MAX_CHARS = 220  # a preview is a taste, not a chapter
# A player with no sound device gives up at once; one still running after this plays.
PLAYER_GRACE = 0.5
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def preview_text(script: Script, speaker: str | None) -> str:
    """A line this speaker says (None: a stretch of narration), as long as a preview
    allows, cut at a sentence end if it must be cut."""
    if speaker is None:
        lines = [spoken_text(s) for s in script.segments if s.kind == "narration"]
    else:
        lines = [
            spoken_text(s) for s in script.segments if s.kind == "dialogue" and s.speaker == speaker
        ]
    lines = [t for t in lines if t.strip()]
    if not lines:
        return f"Hello, I am {speaker}." if speaker else "This is the narrator's voice."
    # The longest line that fits: a one-word "No," says little about a voice.
    fits = [t for t in lines if len(t) <= MAX_CHARS]
    text = max(fits, key=len) if fits else lines[0]
    if len(text) > MAX_CHARS:
        out = ""
        for sentence in _SENTENCE_END.split(text):
            if out and len(out) + len(sentence) > MAX_CHARS:
                break
            out = f"{out} {sentence}".strip()
        text = out[:MAX_CHARS]
    return text


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fsutil.write_wav(path, pcm, rate)


def render_preview(text: str, voice: Voice, engine: str, folder: Path | None = None) -> Path:
    """Synthesise ``text`` in ``voice`` to a WAV (reused if already made) and return it."""
    folder = folder or default_cache_dir() / "previews"
    digest = hashlib.sha256(f"{engine}\0{voice!r}\0{text}".encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", voice.name)
    path = folder / f"{safe}-{digest}.wav"
    if not path.exists():
        eng = get_engine(engine)
        write_wav(path, eng.synthesize(text, voice), eng.sample_rate(voice))
    return path


def find_player() -> list[str] | None:
    """The player command, or None. ``$AUDIOBOOK_PLAYER`` overrides the search
    (``none`` turns playback off, e.g. in tests)."""
    override = os.environ.get("AUDIOBOOK_PLAYER")
    if override is not None:
        return None if override.strip().lower() in ("", "none") else shlex.split(override)
    for cmd in PLAYERS:
        exe = shutil.which(cmd[0])
        if exe:
            return [exe, *cmd[1:]]
    return None


def play(path: Path, grace: float = PLAYER_GRACE) -> bool:
    """Start playing ``path`` in the background; False if there is no player or it
    failed straight away (no sound device). Waits up to ``grace`` seconds to know."""
    cmd = find_player()
    if cmd is None:
        return False
    try:
        proc = subprocess.Popen(
            [*cmd, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the player must not read or draw on our terminal
        )
    except OSError:
        return False
    try:
        return proc.wait(timeout=grace) == 0
    except subprocess.TimeoutExpired:
        return True  # still playing
