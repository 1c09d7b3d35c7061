"""Hear a voice or a word before committing a long render to it.

The TUI, ``audiobook voices preview`` and ``audiobook lexicon test`` all speak through
here, with the same engine and levelling as a render. The TUI's preview is one short
line of the character, written as a WAV in the cache folder and handed to whatever
audio player the system has. No player, or a player with no sound device to play on (a server, a
container), is fine: the user is told where the WAV is instead of that it is playing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from audiobook import fsutil
from audiobook.cast import best_narrator
from audiobook.engine import get_engine
from audiobook.errors import VoiceError
from audiobook.model import Script, Segment
from audiobook.sidecar import load_sidecar
from audiobook.speech import spoken_text
from audiobook.synth import default_cache_dir
from audiobook.text.lexicon import full_lexicon, story_lexicon
from audiobook.text.sentences import sentence_spans
from audiobook.voices import Voice, discover_voices, find_voice

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
        for sentence in (text[a:b] for a, b in sentence_spans(text)):
            if out and len(out) + len(sentence) > MAX_CHARS:
                break
            out = f"{out} {sentence}".strip()
        text = out[:MAX_CHARS]
    return text


def _speak(text: str, voice: Voice, engine: str, out: Path) -> float:
    """Synthesise ``text`` into the WAV ``out`` (atomically); its length in seconds."""
    eng = get_engine(engine)
    pcm = eng.synthesize(text, voice)
    rate = eng.sample_rate(voice)
    fsutil.write_wav(out, pcm, rate, what="cannot write preview")
    return len(pcm) / rate


def speak_as(
    name: str,
    text: str,
    out: Path,
    *,
    voice_dirs: Sequence[Path] = (),
    engine: str = "piper",
) -> tuple[Voice, float]:
    """Speak ``text`` with voice ``name`` into the WAV ``out``; (voice, seconds)."""
    voice = find_voice(name, discover_voices(voice_dirs))
    if not any(ch.isalnum() for ch in text):
        raise VoiceError("nothing to say: the preview text has no words")
    return voice, _speak(text, voice, engine, out)


def narrator_voice(story: Path | None, voice_dirs: Sequence[Path] = ()) -> Voice:
    """The story's narration voice (its sidecar's), else the one casting would pick."""
    library = discover_voices(voice_dirs)
    chosen = load_sidecar(Path(story)).narrator_voice if story is not None else None
    return find_voice(chosen, library) if chosen else best_narrator(library, "en")


def speak_word(
    word: str,
    out: Path,
    *,
    story: Path | None = None,
    voice_dirs: Sequence[Path] = (),
    engine: str = "piper",
) -> tuple[str, Voice, float]:
    """Say ``word`` as a render would (normalised, every lexicon level) with the
    narration voice into the WAV ``out``; returns (what was said, voice, seconds)."""
    lexicon = story_lexicon(story) if story is not None else full_lexicon()
    said = spoken_text(Segment("narration", 0, len(word), word, 0), lexicon)
    if not said:
        raise VoiceError(f"nothing to say: {word!r} has no words")
    voice = narrator_voice(story, voice_dirs)
    return said, voice, _speak(said, voice, engine, out)


def render_preview(text: str, voice: Voice, engine: str, folder: Path | None = None) -> Path:
    """Synthesise ``text`` in ``voice`` to a WAV (reused if already made) and return it."""
    folder = folder or default_cache_dir() / "previews"
    digest = hashlib.sha256(f"{engine}\0{voice!r}\0{text}".encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", voice.name)
    path = folder / f"{safe}-{digest}.wav"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _speak(text, voice, engine, path)
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
