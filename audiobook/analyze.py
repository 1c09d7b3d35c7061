"""Text in, script out: the analysis half of the pipeline, shared by CLI and TUI.

Loads a story, finds its structure, splits it into segments and attributes speakers,
then applies the user's decisions from the sidecar (title, roster, speaker fixes,
passages). The two halves are separate (``prepare`` and ``attribute_prepared``) because
the TUI re-runs only the second after each decision: the text does not change.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .attribute import attribute
from .load import load
from .model import Character, Document, Script, Segment, Structure
from .segment import segment
from .sidecar import Sidecar, SpeakerFix, load_sidecar
from .speech import spoken_text
from .structure import build

log = logging.getLogger(__name__)
SHOWN_CHARS = 40  # of a decision's text, when saying it no longer fits the story


@dataclass(frozen=True)
class Prepared:
    """A story up to (not including) attribution: what no review decision changes."""

    path: Path
    doc: Document
    structure: Structure
    segments: list[Segment]  # never attributed: each analysis attributes copies


@dataclass(frozen=True)
class Passage:
    """A stretch the user marked skipped (``read`` False) or read; ``text`` re-anchors
    it when the story was edited and the offsets moved."""

    start: int
    end: int
    read: bool
    text: str = ""


def prepare(path: str | Path, *, read_front_matter: bool = False) -> Prepared:
    path = Path(path)
    doc = load(path)
    structure = build(doc, read_front_matter=read_front_matter)
    return Prepared(path, doc, structure, segment(doc, structure))


def analyze(
    path: str | Path,
    *,
    roster: Sequence[Character] | None = None,
    read_front_matter: bool = False,
    sidecar: Sidecar | None = None,
) -> Script:
    """``roster`` (e.g. from ``--characters``) wins over the sidecar's, which wins over
    discovery. Decisions that no longer fit the story are logged once, as a warning."""
    prepared = prepare(path, read_front_matter=read_front_matter)
    sc = sidecar if sidecar is not None else load_sidecar(prepared.path)
    script = attribute_prepared(prepared, sc, roster=roster)
    if script.unplaced:
        log.warning("%s", unplaced_notice(sc.path, script.unplaced))
    return script


def attribute_prepared(
    prepared: Prepared, sc: Sidecar, *, roster: Sequence[Character] | None = None
) -> Script:
    """The script the sidecar's decisions make of a prepared story. Reads ``prepared``
    without changing it, so a worker thread may run this while the UI reads an older
    script."""
    segs = [copy.copy(s) for s in prepared.segments]
    fixed, lost = place_fixes(segs, sc.fixes)
    characters = attribute(
        prepared.doc.text, segs, roster if roster is not None else sc.roster, fixed=fixed
    )
    unplaced = [_speaker_lost(f) for f in lost] + _mark_passages(prepared, sc, segs)
    return assemble(prepared, sc, segs, characters, unplaced)


def unattributed(prepared: Prepared, sc: Sidecar) -> Script:
    """The script before attribution (no speakers, no cast): what a long story can show
    while its speakers are still being worked out."""
    segs = [copy.copy(s) for s in prepared.segments]
    return assemble(prepared, sc, segs, [], _mark_passages(prepared, sc, segs))


def _mark_passages(prepared: Prepared, sc: Sidecar, segs: list[Segment]) -> list[str]:
    """Apply the sidecar's passage marks to ``segs``; what no longer fits, for the user."""
    passages, lost = place_passages(prepared.doc.text, sc.extra.get("passages"))
    _apply(segs, passages)
    return [_passage_lost(p) for p in lost]


def assemble(
    prepared: Prepared,
    sc: Sidecar,
    segs: list[Segment],
    characters: list[Character],
    unplaced: list[str],
) -> Script:
    """The script of segments already attributed and marked (e.g. in another process),
    with the book's title and author from the sidecar."""
    meta = replace(prepared.structure.meta)
    if sc.title:
        meta.title = sc.title
    if sc.author:
        meta.author = sc.author
    return Script(
        source=prepared.path,
        format=prepared.doc.format,
        text=prepared.doc.text,
        meta=meta,
        chapters=prepared.structure.chapters,
        characters=characters,
        segments=segs,
        unplaced=unplaced,
    )


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _speaker_lost(fx: SpeakerFix) -> str:
    return f"speaker {fx.speaker or 'narration'} for “{_excerpt(fx.text)}”"


def _passage_lost(p: Passage) -> str:
    return f"{'read' if p.read else 'skip'} mark on “{_excerpt(p.text)}”"


def unplaced_notice(where: str | Path, unplaced: Sequence[str]) -> str:
    """One line for every decision the edited story has no place for."""
    n = len(unplaced)
    verb = "no longer match the story and are" if n != 1 else "no longer matches the story and is"
    return f"{where}: {n} decision{'s' * (n != 1)} {verb} not applied: " + "; ".join(unplaced)


def place_fixes(
    segs: Sequence[Segment], fixes: Sequence[SpeakerFix]
) -> tuple[dict[tuple[int, int], str | None], list[SpeakerFix]]:
    """Anchor the user's fixes to today's segments: by offsets, or by the line's text
    nearest them if the story was edited since; also the fixes that match nothing."""
    dialogue = [s for s in segs if s.kind == "dialogue"]
    spans = {(s.start, s.end): s for s in dialogue}
    by_text: dict[str, list[Segment]] = {}
    for s in dialogue:
        by_text.setdefault(s.text, []).append(s)
    out: dict[tuple[int, int], str | None] = {}
    lost: list[SpeakerFix] = []
    for fx in fixes:
        seg = spans.get((fx.start, fx.end))
        if seg is None or (fx.text and seg.text != fx.text):
            near = by_text.get(fx.text, []) if fx.text else []
            seg = min(near, key=lambda s: abs(s.start - fx.start), default=None)
        if seg is None:
            lost.append(fx)
        else:
            out[(seg.start, seg.end)] = fx.speaker
    return out, lost


def match_fixes(
    segs: Sequence[Segment], fixes: Sequence[SpeakerFix]
) -> dict[tuple[int, int], str | None]:
    """The placed fixes only (see ``place_fixes``)."""
    return place_fixes(segs, fixes)[0]


def place_passages(text: str, raw: object) -> tuple[list[Passage], list[Passage]]:
    """The reader's "skip this" / "read this" marks (``passages = [{start, end, read,
    text}]`` in the sidecar) moved to where their text is now, and those whose text is
    gone. Malformed entries are ignored, like a hand edit gone wrong; a mark without
    text (older sidecars) stays where its offsets say."""
    placed: list[Passage] = []
    lost: list[Passage] = []
    for p in raw if isinstance(raw, list) else []:
        if not isinstance(p, dict):
            continue
        a, b, read, said = p.get("start"), p.get("end"), p.get("read"), p.get("text", "")
        if not (isinstance(a, int) and isinstance(b, int) and isinstance(read, bool)):
            continue
        said = said if isinstance(said, str) else ""
        mark = Passage(a, b, read, said)
        if not said or text[a:b] == said:
            placed.append(mark)
            continue
        at = _nearest(text, said, a)
        if at is None:
            lost.append(mark)
        else:
            placed.append(Passage(at, at + len(said), read, said))
    return placed, lost


def _nearest(text: str, needle: str, near: int) -> int | None:
    """Where ``needle`` occurs in ``text`` closest to offset ``near``."""
    after = text.find(needle, max(0, near))
    before = text.rfind(needle, 0, max(0, near) + len(needle) - 1)
    found = [i for i in (after, before) if i >= 0]
    return min(found, key=lambda i: abs(i - near), default=None)


def _apply(segs: Sequence[Segment], passages: Sequence[Passage]) -> None:
    """Skipped text becomes ``skip``; front matter marked read is read by the narrator."""
    for p in passages:
        for seg in segs:
            if seg.start < p.start or seg.end > p.end or seg.kind == "heading":
                continue
            if not p.read and seg.kind in ("narration", "dialogue"):
                seg.kind, seg.speaker, seg.confidence, seg.sieve = "skip", None, 0.0, "user"
            elif p.read and seg.kind == "skip":
                seg.kind, seg.sieve = "narration", "user"


def script_json(script: Script) -> dict[str, Any]:
    """The stable contract printed by ``audiobook script --json`` (see README).

    Extra fields (``sieve``, ``spoken``, ``paragraph``, ``scene``, ``format``,
    ``description``) add to it without changing it.
    """
    from .text.lexicon import story_lexicon

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
