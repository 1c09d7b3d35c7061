"""One colour per voice, the same on every screen, so a line's colour says who reads it."""

from __future__ import annotations

from collections.abc import Sequence

from audiobook.voices import Voice

# Readable on dark and light backgrounds; the narration voice keeps the plain text colour.
COLOURS = (
    "#e5804a",
    "#5fa8e8",
    "#7cc46a",
    "#d7a63c",
    "#c47ad6",
    "#3fbfb0",
    "#e36f8f",
    "#9a9ae8",
    "#b9b94a",
    "#5fc48f",
)


def voice_colour(voice: Voice, narrator: Voice, library: Sequence[Voice]) -> str | None:
    if voice.name == narrator.name:
        return None
    names = [v.name for v in library]
    i = names.index(voice.name) if voice.name in names else len(voice.name)
    return COLOURS[i % len(COLOURS)]
