"""The load stage: a story file (bytes) -> ``Document``.

``load`` picks the reader by suffix (.txt/.md/.html/.epub; anything else is read as
text, or as HTML/EPUB if the content says so) and turns every way a file can be bad
into a ``LoadError`` with a short reason. ``find_stories`` expands folders.
"""

from __future__ import annotations

import os
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

from audiobook.errors import AudiobookError, LoadError
from audiobook.model import Document

from .source import read_bytes
from .text import load_markdown, load_text

__all__ = ["STORY_SUFFIXES", "find_stories", "load"]

STORY_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".xhtml", ".epub"}
)
_MARKDOWN = frozenset({".md", ".markdown"})
_HTML = frozenset({".html", ".htm", ".xhtml"})
_SIDECAR = ".audiobook.toml"
# A book folder we rendered holds this manifest (render.MANIFEST; not imported, render is
# heavy): nothing in it is a story, however its files are named.
OUTPUT_MANIFEST = ".audiobook-render.json"
# Side files we write next to the chapters; a folder with chapters or a playlist is ours
# even before its manifest exists (a render stopped early).
_SIDE_FILES = frozenset({"desc.txt", "reader.txt"})
_OUTPUT_SUFFIXES = (".mp3", ".m4b", ".m3u8", ".vtt")
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_EPUB_START = b"PK\x03\x04"
_Add = Callable[[Path], None]


def load(path: str | Path) -> Document:
    """Read one story file. Raises ``LoadError`` (never a decoding/zip/XML/OS error)."""
    p = Path(path)
    suffix = p.suffix.lower()
    # The HTML/EPUB readers (BeautifulSoup, lxml) are imported only for those files:
    # ~0.2 s of every run's start-up on a plain-text story.
    try:
        if suffix == ".epub":
            from .epub import load_epub

            return load_epub(p)
        data = read_bytes(p)
        if suffix in _HTML:
            from .html import load_html

            return load_html(p, data)
        if suffix in _MARKDOWN:
            return load_markdown(p, data)
        if suffix not in STORY_SUFFIXES:  # unknown or no suffix: trust the content
            if data.startswith(_EPUB_START) and data[30:58] == b"mimetypeapplication/epub+zip":
                from .epub import load_epub

                return load_epub(p)
            if _HTML_START.match(data[:4096]):
                from .html import load_html

                return load_html(p, data)
        return load_text(p, data)
    except AudiobookError:
        raise
    # A safety net: each reader maps the failures it expects; anything left that comes
    # from the bytes themselves is still the file's fault, not a crash.
    except (UnicodeError, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise LoadError(f"cannot read file ({type(e).__name__})", p) from e
    except OSError as e:
        raise LoadError("cannot read file", p) from e
    except RecursionError as e:
        raise LoadError("document is nested too deeply", p) from e
    except Exception as e:
        etree = sys.modules.get("lxml.etree")  # loaded if a reader that uses it ran
        if etree is not None and isinstance(e, etree.LxmlError):
            raise LoadError(f"cannot read file ({type(e).__name__})", p) from e
        raise


def find_stories(
    paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()
) -> tuple[list[Path], list[AudiobookError]]:
    """Files are taken as given (any suffix); folders are walked recursively (sorted,
    hidden files/dirs and *.audiobook.toml sidecars ignored) for STORY_SUFFIXES. A
    missing path yields a LoadError in the 2nd list. Our own output is never a story:
    folders in ``exclude`` (the output folder) and book folders we wrote are skipped."""
    found: list[Path] = []
    errors: list[AudiobookError] = []
    seen: set[Path] = set()
    excluded = frozenset(_identity(Path(p)) for p in exclude)

    def add(p: Path) -> None:
        key = _identity(p)
        if key not in seen:
            seen.add(key)
            found.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            _walk(p, add, errors, set(), excluded)
        elif p.exists() or p.is_symlink():
            add(p)  # as given: load() explains what is wrong with it, if anything
        else:
            errors.append(LoadError("no such file or folder", p))
    return found, errors


def _walk(
    folder: Path,
    add: _Add,
    errors: list[AudiobookError],
    visiting: set[Path],
    excluded: frozenset[Path],
) -> None:
    real = _identity(folder)
    if real in visiting:  # a symlink loop
        return
    visiting.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: _natural_key(e.name))
    except PermissionError:
        errors.append(LoadError("permission denied", folder))
        return
    except OSError:
        errors.append(LoadError("cannot read folder", folder))
        return
    names = {e.name.lower() for e in entries}
    if OUTPUT_MANIFEST in names:
        return
    ours = any(n.endswith(_OUTPUT_SUFFIXES) for n in names)
    for entry in entries:
        name = entry.name.lower()
        if name.startswith(".") or name.endswith(_SIDECAR) or (ours and name in _SIDE_FILES):
            continue
        p = Path(entry.path)
        try:
            if entry.is_dir():
                if _identity(p) in excluded:
                    continue  # the output folder inside the input folder
                _walk(p, add, errors, visiting, excluded)
            elif entry.is_file() and p.suffix.lower() in STORY_SUFFIXES:
                add(p)
        except OSError:
            continue  # vanished or unreadable while walking; not a story we can offer
    visiting.discard(real)


def _identity(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p.absolute()


def _natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """ "Part 2" before "Part 10"; case-insensitive."""
    return tuple(
        (0, int(part)) if part.isdecimal() else (1, part)
        for part in re.split(r"(\d+)", name.casefold())
        if part
    )
