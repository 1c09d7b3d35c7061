"""Imported by the synthesis fork server only (see ``helpers.WARM``): loads the bundled
voice's model once, before any worker forks, so workers start speaking at once and
share its memory. Never raises: a missing or broken voice is reported when a line
needs it, by the worker, as usual."""

from __future__ import annotations


def _warm() -> None:
    try:
        from audiobook.engine import PiperEngine
        from audiobook.voices import bundled_voices

        voices = bundled_voices()
        if voices:
            PiperEngine(threads=1).load(voices[0])
    except Exception:  # a failure here must not stop the fork server
        pass


_warm()
