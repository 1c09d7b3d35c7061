"""WebVTT beside each chapter file: one cue per spoken segment, the speaker as a voice
span (``<v Agnes Corliss>``), timed to the chapter audio, so players and the TUI can
show the text as it is read.

A cue's identifier is the segment's ``start-end`` offsets into the story text, so a
reader of the file can map a cue back to the script.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from audiobook.assemble import ChapterAudio
from audiobook.model import Segment

NARRATOR = "Narrator"
UNKNOWN = "Unknown"  # dialogue whose speaker attribution found no one


@dataclass
class Cue:
    start: float  # seconds
    end: float
    text: str
    voice: str | None = None
    ident: str = ""


def speaker_label(seg: Segment) -> str:
    if seg.kind == "dialogue":
        return seg.speaker or UNKNOWN
    return NARRATOR


def cue_text(seg: Segment) -> str:
    """What the listener sees: the segment's own words on one line (headings without
    Markdown marks)."""
    text = seg.text
    if seg.kind == "heading":
        text = re.sub(r"^[ \t]*#+[ \t]*", "", text, flags=re.MULTILINE)
    return " ".join(text.split())


def chapter_cues(audio: ChapterAudio, offset: float = 0.0) -> list[Cue]:
    """One cue per segment with audio; ``offset`` (s) places a chapter inside a book."""
    cues = []
    for span in audio.spans:
        text = cue_text(span.segment)
        if not text:
            continue
        cues.append(
            Cue(
                start=offset + audio.seconds(span.start),
                end=offset + audio.seconds(span.end),
                text=text,
                voice=speaker_label(span.segment),
                ident=f"{span.segment.start}-{span.segment.end}",
            )
        )
    return cues


def _timestamp(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_vtt(cues: Iterable[Cue]) -> str:
    lines = ["WEBVTT", ""]
    for cue in cues:
        if cue.ident:
            lines.append(_escape(" ".join(cue.ident.split())).replace("--&gt;", "- -&gt;"))
        lines.append(f"{_timestamp(cue.start)} --> {_timestamp(cue.end)}")
        body = _escape(" ".join(cue.text.split()))
        if cue.voice:
            body = f"<v {_escape(' '.join(cue.voice.split()))}>{body}"
        lines += [body, ""]
    return "\n".join(lines)


_TIMING = re.compile(r"^(\S+)\s+-->\s+(\S+)")
_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]*)>(.*?)(?:</v>)?$", re.DOTALL)


def _seconds(stamp: str) -> float:
    parts = stamp.split(":")
    total = 0.0
    for p in parts:
        total = total * 60 + float(p)
    return total


def parse_vtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file (ours or a simple one); NOTE/STYLE blocks are skipped."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = block.split("\n")
        timing_at = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if timing_at is None or timing_at > 1:
            continue
        m = _TIMING.match(lines[timing_at].strip())
        if m is None:
            continue
        ident = html.unescape(lines[0].strip()) if timing_at == 1 else ""
        body = "\n".join(lines[timing_at + 1 :]).strip()
        voice = None
        vm = _VOICE.match(body)
        if vm:
            voice, body = html.unescape(vm.group(1).strip()), vm.group(2)
        cues.append(
            Cue(_seconds(m.group(1)), _seconds(m.group(2)), html.unescape(body), voice, ident)
        )
    return cues


def read_vtt(path: Path) -> list[Cue]:
    return parse_vtt(Path(path).read_text(encoding="utf-8"))
