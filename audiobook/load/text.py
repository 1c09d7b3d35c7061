"""Plain text and Markdown: the decoded file as-is; Markdown front matter becomes meta."""

from __future__ import annotations

import re
from pathlib import Path

from audiobook.errors import LoadError
from audiobook.model import BookMeta, Document, Hint

from .decode import decode_text

# YAML front matter must open the file; closed by "---" or "...".
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$", re.S | re.M)
_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*)$")
_ITEM = re.compile(r"^[ \t]+-[ \t]+(.+)$")
_KNOWN_KEYS = frozenset(
    {
        "title",
        "author",
        "authors",
        "creator",
        "description",
        "summary",
        "language",
        "lang",
        "genre",
        "fandom",
        "subject",
        "date",
        "year",
        "series",
        "series_part",
        "series_index",
        "part",
        "tags",
        "layout",
    }
)
_YEAR = re.compile(r"\b(1[0-9]{3}|2[0-9]{3})\b")


def decode_story(data: bytes, path: Path) -> str:
    text = decode_text(data, path)
    if not text.strip():
        raise LoadError("file has no text", path)
    return text


def load_text(path: Path, data: bytes) -> Document:
    # Title/Author lines are left to the structure stage, which sees the whole layout.
    return Document(path=path, format="text", text=decode_story(data, path))


def load_markdown(path: Path, data: bytes) -> Document:
    text = decode_story(data, path)
    doc = Document(path=path, format="markdown", text=text)
    m = _FRONT_MATTER.match(text)
    if m is not None:
        fields = _parse_front_matter(m.group(1))
        if fields:
            _apply_front_matter(doc.meta, fields)
            doc.hints.append(Hint(kind="skip", start=0, end=m.end(), label="front matter"))
    return doc


def _parse_front_matter(block: str) -> dict[str, list[str]] | None:
    """The flat subset of YAML front matter tools write: ``key: value``, ``- item`` lists,
    indented continuation lines. Deliberately not a YAML parser: we need a few scalars.

    Returns None unless every line looks like YAML and a known key is present, so a story
    that merely opens with a ``---`` rule is left alone.
    """
    fields: dict[str, list[str]] = {}
    key: str | None = None
    for line in block.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        km = _KEY.match(line)
        im = _ITEM.match(line)
        if km is not None:
            key = km.group(1).lower()
            value = _unquote(km.group(2))
            fields.setdefault(key, [])
            if value and value not in ("|", ">", "|-", ">-", "[]"):
                fields[key].extend(_inline_list(value))
        elif im is not None and key is not None:
            fields[key].append(_unquote(im.group(1)))
        elif line[0] in " \t" and key is not None:  # folded/literal block scalar
            values = fields[key]
            if values:
                values[-1] = f"{values[-1]} {line.strip()}"
            else:
                values.append(line.strip())
        else:
            return None
    if not fields.keys() & _KNOWN_KEYS:
        return None
    return {k: [v for v in vs if v] for k, vs in fields.items()}


def _inline_list(value: str) -> list[str]:
    if value.startswith("[") and value.endswith("]"):
        return [_unquote(v) for v in value[1:-1].split(",")]
    return [value]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].strip()
    if " #" in value:  # trailing YAML comment
        value = value.split(" #", 1)[0].strip()
    return value


def _apply_front_matter(meta: BookMeta, fields: dict[str, list[str]]) -> None:
    def first(*keys: str) -> str | None:
        for k in keys:
            if fields.get(k):
                return fields[k][0]
        return None

    meta.title = first("title")
    authors = next((fields[k] for k in ("author", "authors", "creator") if fields.get(k)), [])
    meta.author = ", ".join(authors) or None
    meta.description = first("description", "summary")
    meta.language = first("language", "lang")
    meta.genre = first("genre", "fandom", "subject")
    meta.series = first("series")
    meta.series_part = first("series_part", "series_index", "part")
    date = first("year", "date")
    if date is not None:
        ym = _YEAR.search(date)
        meta.year = ym.group(1) if ym else None
