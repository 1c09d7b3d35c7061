"""Plain data passed between the pipeline stages.

Data flows one way: ``Document`` (load) -> ``Chapter``/``Block`` (structure) ->
``Segment`` (segment) -> ``Character`` + speakers (attribute) -> ``Script``.
All offsets are ``str`` offsets into ``Document.text``, end exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Gender = Literal["female", "male", "unknown"]
BlockKind = Literal["heading", "paragraph", "break", "front", "skip"]
SegmentKind = Literal["narration", "dialogue", "heading", "skip"]


@dataclass
class BookMeta:
    """What a player shows about the book; filled by loaders and front matter."""

    title: str | None = None
    author: str | None = None
    description: str | None = None
    language: str | None = None
    genre: str | None = None  # the source's subject or fandom, for the genre tag
    year: str | None = None
    series: str | None = None
    series_part: str | None = None
    fandom: str | None = None  # fanfiction: the work it is set in ("Smallville")
    pairing: str | None = None
    rating: str | None = None
    cover: bytes | None = None
    cover_mime: str | None = None


@dataclass
class Hint:
    """Structure a loader already knows from markup (HTML/EPUB), over ``Document.text``.

    ``heading`` starts a chapter (``level`` 1-3); ``front`` is front matter (summary,
    notes) that is not read by default; ``break`` is a scene break; ``skip`` is
    text that is never read (e.g. an AO3 header block).
    """

    kind: Literal["heading", "front", "break", "skip"]
    start: int
    end: int
    level: int = 1
    label: str | None = None  # for ``front``: "summary", "notes", ...


@dataclass
class Document:
    """A story as text. For .txt/.md ``text`` is the file as Python reads it (universal
    newlines); for HTML/EPUB it is the text extracted from the markup, blocks separated
    by blank lines, and ``hints`` carry what the markup said about structure."""

    path: Path
    format: Literal["text", "markdown", "html", "epub"]
    text: str
    meta: BookMeta = field(default_factory=BookMeta)
    hints: list[Hint] = field(default_factory=list)


@dataclass
class Block:
    """One structural unit of a chapter: a heading, a paragraph (hard wraps already
    understood as one paragraph), a scene break, front matter, or skipped text."""

    kind: BlockKind
    start: int
    end: int
    label: str | None = None


@dataclass
class Chapter:
    index: int  # 0-based
    title: str
    start: int
    end: int
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Structure:
    """The book's chapters; ``front`` holds front-matter blocks outside any chapter."""

    chapters: list[Chapter]
    meta: BookMeta
    front: list[Block] = field(default_factory=list)


@dataclass
class Segment:
    """The unit of speech: one voice, one stretch of text.

    A dialogue span covers the words inside the quotation marks. ``paragraph`` (global
    paragraph number) and ``scene`` (scene number within the chapter) drive pauses and
    chapter markers; ``sieve`` says which attribution rule chose the speaker.
    """

    kind: SegmentKind
    start: int
    end: int
    text: str
    chapter: int
    paragraph: int = 0
    scene: int = 0
    speaker: str | None = None
    confidence: float = 0.0
    sieve: str | None = None
    continued: bool = False  # dialogue: this paragraph continues the previous quotation


@dataclass
class Character:
    name: str
    aliases: list[str] = field(default_factory=list)
    gender: Gender = "unknown"
    narrator: bool = False  # the first-person narrator ("I said")
    lines: int = 0


@dataclass
class Script:
    """The analysed story: everything a render or a reviewer needs."""

    source: Path
    format: str
    text: str
    meta: BookMeta
    chapters: list[Chapter]
    characters: list[Character]
    segments: list[Segment]
    # The sidecar's decisions the (edited) story no longer has a place for, described.
    unplaced: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.meta.title or self.source.stem

    def character(self, name: str) -> Character | None:
        for c in self.characters:
            if c.name == name:
                return c
        return None
