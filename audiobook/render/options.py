"""What a render is asked for (``RenderOptions``) and what it reports back."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from audiobook.errors import AudiobookError


@dataclass
class RenderOptions:
    out_dir: Path = Path("output")
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_dir: Path | None = None
    engine: str = "piper"
    read_front_matter: bool = False
    bitrate: str | None = None  # overrides the quality preset's bitrate
    voice_dirs: Sequence[Path] = ()
    chapters: set[int] | None = None  # only these chapter indexes (the TUI renders one)
    save_sidecar: bool = True
    quality: str = "standard"  # a key of export.QUALITIES: "standard" | "high"
    format: str = "mp3"  # "mp3" (a file per chapter) | "m4b" (one file per book) | "epub"
    # A read-along EPUB of the chapter files too ("epub" is "mp3" with this on).
    readalong: bool = False
    cover: Path | None = None  # an image to use instead of the book's own/generated cover
    series: str | None = None  # override what the story says
    series_part: str | None = None
    # Audio cache cap in MB (0: none); None: $AUDIOBOOK_CACHE_MAX_MB, else the default.
    cache_max_mb: float | None = None
    # A Dask scheduler to synthesise on (see synth.scheduler); None: the local pool.
    scheduler: str | None = None
    speed: float = 1.0  # every voice reads this much faster (times the sidecar's own)


@dataclass
class BookResult:
    source: Path
    folder: Path
    files: list[Path]
    chapters: int
    audio_seconds: float
    reused: int = 0  # chapter files already complete from an earlier run
    subtitles: list[Path] = field(default_factory=list)  # the .vtt beside each file
    cover: Path | None = None
    lines: int = 0  # spoken lines of the chapters rendered
    cached: int = 0  # of them, how many needed no synthesis (cached, or in a file reused)


@dataclass
class RenderReport:
    books: list[BookResult] = field(default_factory=list)
    failures: list[AudiobookError] = field(default_factory=list)
    seconds: float = 0.0
    segments: int = 0
    cache_hits: int = 0

    @property
    def audio_seconds(self) -> float:
        return sum(b.audio_seconds for b in self.books)
