"""The files beside the audio that a library or a reader uses: cover.jpg, desc.txt,
reader.txt (who reads with which voice), metadata.json and the read-along EPUB."""

from __future__ import annotations

from pathlib import Path

from audiobook.export import TrackTags, book_filename, write_file
from audiobook.library import LibraryBook, metadata_json
from audiobook.model import Script
from audiobook.readalong import EpubBook, ReadalongChapter, write_readalong
from audiobook.subtitles import NARRATOR, read_vtt, speaker_label
from audiobook.synth import SynthJob


def _voices(script: Script, jobs: dict[int, SynthJob]) -> dict[str, str]:
    """Who speaks with which voice, in order of appearance."""
    voices: dict[str, str] = {}
    for i in sorted(jobs):
        voices.setdefault(speaker_label(script.segments[i]), jobs[i].voice.name)
    return voices


def reader_text(script: Script, jobs: dict[int, SynthJob]) -> str:
    """reader.txt: the narrator's voice on the first line (Audiobookshelf reads only that
    line, as the narrator), then who speaks with which voice, in order of appearance."""
    voices = _voices(script, jobs)
    narrator = voices.get(NARRATOR) or next(iter(voices.values()), "")
    lines = [narrator, "", "Voices:"]
    lines += [f"{who}: {voice}" for who, voice in voices.items()]
    return "\n".join(lines) + "\n"


def side_files(folder: Path, script: Script, jobs: dict[int, SynthJob], cover: bytes) -> Path:
    """cover.jpg, desc.txt (the summary) and reader.txt (the voices); returns the cover."""
    write_file(folder / "cover.jpg", cover)
    description = (script.meta.description or "").strip()
    if description:
        write_file(folder / "desc.txt", description + "\n")
    write_file(folder / "reader.txt", reader_text(script, jobs))
    return folder / "cover.jpg"


def library_file(
    folder: Path,
    tags: TrackTags,
    chapters: list[tuple[str, float, float]],
    script: Script,
    jobs: dict[int, SynthJob],
) -> None:
    """metadata.json, so Audiobookshelf takes the book as we made it."""
    voices = _voices(script, jobs)
    narrators = [tags.narrator or "", *voices.values()]
    book = LibraryBook(
        title=tags.album,
        authors=[tags.author] if tags.author else [],
        narrators=[v for v in dict.fromkeys(narrators) if v],
        chapters=chapters,
        series=tags.series,
        series_part=tags.series_part,
        genre=script.meta.genre,
        year=tags.year,
        description=tags.description,
        language=tags.language,
    )
    write_file(folder / "metadata.json", metadata_json(book))


def readalong_file(
    folder: Path,
    script: Script,
    titles: list[str],
    made: dict[int, tuple[Path, float]],
    tags: TrackTags,
) -> None:
    """<Title>.epub: the text with the chapter files as its Media Overlays, timed by
    the cues beside each file."""
    chapters = [
        ReadalongChapter(
            script.chapters[n - 1], titles[n - 1], mp3, seconds, read_vtt(mp3.with_suffix(".vtt"))
        )
        for n, (mp3, seconds) in sorted(made.items())
    ]
    book = EpubBook(tags.album, tags.author, tags.language, tags.description, tags.cover)
    write_readalong(folder / book_filename(script.title, "epub"), script, chapters, book)
