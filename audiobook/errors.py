"""One error family, so front ends can turn any failure into one clear line.

Every error the user can cause (bad input, missing voice, unwritable output) is an
``AudiobookError``; anything else is a bug and may show a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

# Control characters, line and paragraph separators, and bidirectional overrides: from
# a story's title or a file name they could move the cursor, recolour the terminal,
# split one error over two lines or reverse what the user reads.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` safe to show on one terminal line: unprintable characters escaped."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(text))


class AudiobookError(Exception):
    """Base class: ``str(err)`` is the one line shown to the user."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.message = message
        self.path = None if path is None else Path(path)
        shown = printable(message)
        super().__init__(f"{printable(self.path)}: {shown}" if self.path is not None else shown)


class LoadError(AudiobookError):
    """A story file could not be read or decoded (empty, binary, broken EPUB...)."""


class StructureError(AudiobookError):
    """The text was read but holds nothing to narrate."""


class CastError(AudiobookError):
    """The sidecar or a roster file is malformed, or names an unknown voice."""


class AttributionError(AudiobookError):
    """The attribution weights file (confidence table) is missing or malformed."""


class VoiceError(AudiobookError):
    """A voice model is missing, corrupt or incomplete."""


class SynthError(AudiobookError):
    """The TTS engine failed on a segment."""


class ExportError(AudiobookError):
    """Audio could not be encoded or written (unwritable folder, disk full...)."""


class Cancelled(AudiobookError):
    """The user stopped a render; finished work is kept and a re-run resumes."""

    def __init__(self) -> None:
        super().__init__("cancelled; run again to resume")


class UnexpectedError(AudiobookError):
    """A bug met while rendering one story: that story fails on one line (its
    traceback kept as ``__cause__`` for ``--debug``) and the rest of a batch goes on."""


def story_failure(path: str | Path, exc: Exception) -> AudiobookError:
    """Any exception from one story's render as that story's one-line error."""
    if isinstance(exc, AudiobookError):
        return exc if exc.path is not None else type(exc)(exc.message, Path(path))
    err = UnexpectedError(
        f"unexpected error ({type(exc).__name__}: {exc}); "
        "this is a bug, please report it (--debug shows the details)",
        path,
    )
    err.__cause__ = exc
    return err
