"""What the TTS engine is given to say for a segment: the one place a render asks.

The segment's text is normalised (numbers, abbreviations, shouting, stutters, markup:
see ``normalize``) and then the pronunciation lexicon is applied. The script itself keeps
the original text and offsets; only what is spoken changes.
"""

from __future__ import annotations

from audiobook.model import Segment
from audiobook.text.lexicon import Lexicon, default_lexicon
from audiobook.text.normalize import normalize


def spoken_text(segment: Segment, lexicon: Lexicon | None = None) -> str:
    """The words to speak for ``segment``; "" when nothing speakable is left.

    ``lexicon`` is the story's (``lexicon.story_lexicon(path)``: built-in, user and
    story entries); None uses the built-in entries alone.
    """
    if segment.kind == "skip":
        return ""
    said = normalize(segment.text, heading=segment.kind == "heading")
    if not said:
        return ""
    return (lexicon if lexicon is not None else default_lexicon()).apply(said)
