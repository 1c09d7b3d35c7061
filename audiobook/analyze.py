"""Text in, script out: the analysis half of the pipeline, shared by CLI and TUI.

Loads a story, finds its structure, splits it into segments and attributes speakers,
then applies the user's decisions from the sidecar (title, roster, speaker fixes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .attribute import attribute
from .attribution_confidence import calibrate
from .load import load
from .model import Character, Script, Segment
from .segment import segment
from .sidecar import Sidecar, SpeakerFix, load_sidecar
from .speech import spoken_text
from .structure import build


def analyze(
    path: str | Path,
    *,
    roster: Sequence[Character] | None = None,
    read_front_matter: bool = False,
    sidecar: Sidecar | None = None,
) -> Script:
    """``roster`` (e.g. from ``--characters``) wins over the sidecar's, which wins over
    discovery."""
    path = Path(path)
    doc = load(path)
    sc = sidecar if sidecar is not None else load_sidecar(path)
    structure = build(doc, read_front_matter=read_front_matter)
    segs = segment(doc, structure)
    cast = roster if roster is not None else sc.roster
    characters = attribute(doc.text, segs, cast, fixed=match_fixes(segs, sc.fixes))
    calibrate(doc.text, segs, characters, roster_given=cast is not None)
    apply_passages(segs, sc.extra.get("passages"))
    meta = structure.meta
    if sc.title:
        meta.title = sc.title
    if sc.author:
        meta.author = sc.author
    return Script(
        source=path,
        format=doc.format,
        text=doc.text,
        meta=meta,
        chapters=structure.chapters,
        characters=characters,
        segments=segs,
    )


def match_fixes(
    segs: Sequence[Segment], fixes: Sequence[SpeakerFix]
) -> dict[tuple[int, int], str | None]:
    """Anchor the user's fixes to today's segments: by offsets, or by the line's text
    near them if the story was edited since. A fix that matches nothing is dropped."""
    dialogue = [s for s in segs if s.kind == "dialogue"]
    spans = {(s.start, s.end): s for s in dialogue}
    out: dict[tuple[int, int], str | None] = {}
    for fx in fixes:
        seg = spans.get((fx.start, fx.end))
        if seg is None or (fx.text and seg.text != fx.text):
            near = [s for s in dialogue if fx.text and s.text == fx.text]
            seg = min(near, key=lambda s: abs(s.start - fx.start), default=None)
        if seg is not None:
            out[(seg.start, seg.end)] = fx.speaker
    return out


def apply_passages(segs: Sequence[Segment], passages: object) -> None:
    """The reader's "skip this" / "read this" marks (``passages = [{start, end, read}]``
    in the sidecar): skipped text becomes ``skip``; front matter marked read is read by
    the narrator. Malformed entries are ignored, like unmatched speaker fixes."""
    if not isinstance(passages, list):
        return
    for p in passages:
        if not isinstance(p, dict):
            continue
        a, b, read = p.get("start"), p.get("end"), p.get("read")
        if not isinstance(a, int) or not isinstance(b, int) or not isinstance(read, bool):
            continue
        for seg in segs:
            if seg.start < a or seg.end > b or seg.kind == "heading":
                continue
            if not read and seg.kind in ("narration", "dialogue"):
                seg.kind, seg.speaker, seg.confidence, seg.sieve = "skip", None, 0.0, "user"
            elif read and seg.kind == "skip":
                seg.kind, seg.sieve = "narration", "user"


def script_json(script: Script) -> dict[str, Any]:
    """The stable contract printed by ``audiobook script --json`` (see README).

    Extra fields (``sieve``, ``spoken``, ``paragraph``, ``scene``, ``format``,
    ``description``) add to it without changing it.
    """
    from .lexicon import story_lexicon

    lexicon = story_lexicon(script.source)  # what a render will really say
    return {
        "source": str(script.source),
        "format": script.format,
        "title": script.title,
        "author": script.meta.author,
        "description": script.meta.description,
        "chapters": [
            {"index": c.index, "title": c.title, "start": c.start, "end": c.end}
            for c in script.chapters
        ],
        "characters": [
            {
                "name": c.name,
                "aliases": list(c.aliases),
                "gender": c.gender,
                "narrator": c.narrator,
                "lines": c.lines,
            }
            for c in script.characters
        ],
        "segments": [
            {
                "kind": s.kind,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "speaker": s.speaker,
                "confidence": round(s.confidence, 3),
                "chapter": s.chapter,
                "paragraph": s.paragraph,
                "scene": s.scene,
                "sieve": s.sieve,
                "spoken": spoken_text(s, lexicon) if s.kind != "skip" else "",
            }
            for s in script.segments
        ],
    }
