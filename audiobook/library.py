"""``metadata.json`` in the book folder, in the shape Audiobookshelf writes and reads
back (its "store metadata with item" file): its scanner takes the book from it exactly
(chapters with their times across all files, every voice as a narrator, series,
language) instead of guessing from the first file's tags.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from audiobook.language import language_name

# Audiobookshelf lists tags as filters: say what kind of narration this is.
TAGS = ["Text-to-speech"]


@dataclass(kw_only=True)
class BookFacts:
    """What the source says about the book, as the tags and metadata.json both carry it."""

    series: str | None = None
    series_part: str | None = None
    year: str | None = None
    description: str | None = None
    language: str | None = None


@dataclass
class LibraryBook(BookFacts):
    title: str
    authors: list[str]
    narrators: list[str]  # the voices, the narration voice first
    chapters: Sequence[tuple[str, float, float]]  # (title, start s, end s) in the book
    genre: str | None = None


def metadata_json(book: LibraryBook) -> str:
    """The file's text. Keys Audiobookshelf does not know it ignores, so only its own
    are written; unknown values are null or empty, as it writes them."""
    series = []
    if book.series:
        part = f" #{book.series_part}" if book.series_part else ""
        series.append(book.series + part)
    data = {
        "tags": TAGS,
        "chapters": [
            {"id": i, "start": round(start, 3), "end": round(end, 3), "title": title}
            for i, (title, start, end) in enumerate(book.chapters)
        ],
        "title": book.title,
        "subtitle": None,
        "authors": book.authors,
        "narrators": book.narrators,
        "series": series,
        "genres": [book.genre] if book.genre else [],
        "publishedYear": book.year,
        "publishedDate": None,
        "publisher": None,
        "description": book.description,
        "isbn": None,
        "asin": None,
        "language": language_name(book.language),
        "explicit": False,
        "abridged": False,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def chapter_times(
    titles: Sequence[str], seconds: Sequence[float]
) -> list[tuple[str, float, float]]:
    """(title, start, end) of chapters played one after another."""
    out: list[tuple[str, float, float]] = []
    at = 0.0
    for title, length in zip(titles, seconds, strict=True):
        out.append((title, at, at + length))
        at += length
    return out
