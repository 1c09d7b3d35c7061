"""A read-along EPUB 3: the story's text with a Media Overlay per chapter, so a reading
app (Thorium, Readest, Storyteller...) highlights each line as the chapter audio
reads it.

The timings are the subtitle cues written beside each chapter file: a cue's
identifier is its segment's offsets into the story text, so each cue finds its words
in the chapter's blocks. Every spoken segment becomes a ``<span>`` whose class names
its speaker (``voice-narrator``, ``voice-agnes-corliss``) for apps that colour voices,
and one ``<par>`` in the chapter's SMIL. Clips run on from one line to the next, so
the pauses are played, not skipped.
"""

from __future__ import annotations

import colorsys
import re
import uuid
import zipfile
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from audiobook.errors import ExportError
from audiobook.fsutil import replacing
from audiobook.language import bcp47
from audiobook.model import Block, Chapter, Script, Segment
from audiobook.subtitles import Cue

ACTIVE_CLASS = "-epub-media-overlay-active"  # what apps add to the line being read
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_HEADING_MARKS = re.compile(r"^[ \t]*#+[ \t]*")


@dataclass
class ReadalongChapter:
    """One chapter as rendered: its audio file, that file's seconds and its cues."""

    chapter: Chapter
    title: str
    audio: Path
    seconds: float
    cues: list[Cue]


@dataclass
class _Page:
    """A chapter's XHTML and its overlay: (span id, clip begin, clip end) in order."""

    xhtml: str
    pars: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.pars[-1][2] - self.pars[0][1] if self.pars else 0.0


def voice_class(speaker: str | None) -> str:
    """A CSS class for a speaker: ``voice-`` and their name in lower-case ASCII words."""
    slug = re.sub(r"[^a-z0-9]+", "-", (speaker or "").lower()).strip("-")
    return f"voice-{slug or 'unknown'}"


def clock(seconds: float) -> str:
    """A SMIL full clock value, ``h:mm:ss.fff``."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def epub_language(value: str | None) -> str:
    """A BCP 47 tag for ``dc:language``: the source's own tag if it is one ("pt-BR"),
    a known name or code as its tag, else "und" (undetermined)."""
    v = (value or "").strip().replace("_", "-")
    known = bcp47(v)
    if known is not None and known != v.split("-")[0].lower():
        return known  # a name ("English") or a 3-letter code
    if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", v):
        return v
    return "und"


def _text(s: str) -> str:
    return escape(_XML_INVALID.sub("", s))


def _block_html(
    block: Block, text: str, segments: Sequence[Segment], cues: dict[str, Cue]
) -> tuple[str, list[tuple[str, Cue]]]:
    """One block as XHTML, each spoken segment in it a span; the spans made."""
    pieces: list[str] = []
    spans: list[tuple[str, Cue]] = []
    pos = block.start
    for seg in segments:
        words = text[seg.start : seg.end]
        if block.kind == "heading":
            words = _HEADING_MARKS.sub("", words)
        pieces.append(_text(text[pos : seg.start]))
        cue = cues.get(f"{seg.start}-{seg.end}")
        if cue is None:
            pieces.append(_text(words))
        else:
            ident = f"t{seg.start}"
            pieces.append(
                f'<span id="{ident}" class="{voice_class(cue.voice)}">{_text(words)}</span>'
            )
            spans.append((ident, cue))
        pos = seg.end
    pieces.append(_text(text[pos : block.end]))
    body = "".join(pieces).strip()
    if block.kind == "heading":
        body = _HEADING_MARKS.sub("", body)
        return f"<h2>{body}</h2>", spans
    cls = ' class="front"' if block.kind == "front" else ""
    return f"<p{cls}>{body}</p>", spans


def _page(script: Script, ch: ReadalongChapter, lang: str) -> _Page:
    cues = {c.ident: c for c in ch.cues if c.ident}
    segs = [s for s in script.segments if s.chapter == ch.chapter.index and s.kind != "skip"]
    starts = [s.start for s in segs]  # in text order
    body: list[str] = []
    spans: list[tuple[str, Cue]] = []
    for block in ch.chapter.blocks:
        if block.kind == "break":
            body.append('<hr class="scene-break"/>')
            continue
        if block.kind not in ("heading", "paragraph", "front"):
            continue
        first, last = bisect_left(starts, block.start), bisect_left(starts, block.end)
        inside = [s for s in segs[first:last] if s.end <= block.end]
        html, made = _block_html(block, script.text, inside, cues)
        body.append(html)
        spans += made
    if not any(b.startswith("<h2") for b in body):
        body.insert(0, f"<h2>{_text(ch.title)}</h2>")
    spans.sort(key=lambda sc: sc[1].start)
    pars = []
    for i, (ident, cue) in enumerate(spans):
        end = spans[i + 1][1].start if i + 1 < len(spans) else cue.end
        pars.append((ident, cue.start, min(max(end, cue.start), ch.seconds)))
    xhtml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"'
        f' xml:lang="{lang}" lang="{lang}">\n<head><meta charset="UTF-8"/>'
        f"<title>{_text(ch.title)}</title>"
        '<link rel="stylesheet" type="text/css" href="style.css"/></head>\n'
        '<body><section id="chapter" epub:type="chapter">\n'
        + "\n".join(body)
        + "\n</section></body></html>\n"
    )
    return _Page(xhtml, pars)


def _smil(page: _Page, xhtml_name: str, audio_name: str) -> str:
    pars = "\n".join(
        f'<par id="p{i}"><text src="{xhtml_name}#{ident}"/>'
        f'<audio src="{audio_name}" clipBegin="{clock(a)}" clipEnd="{clock(b)}"/></par>'
        for i, (ident, a, b) in enumerate(page.pars, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops"'
        ' version="3.0">\n<body>\n'
        f'<seq id="s1" epub:textref="{xhtml_name}#chapter" epub:type="chapter">\n{pars}\n</seq>\n'
        "</body>\n</smil>\n"
    )


def _css(speakers: Sequence[str]) -> str:
    """Voices told apart by colour (hues spread round the wheel; narration as text)."""
    lines = [
        "body { line-height: 1.5; }",
        "hr.scene-break { margin: 1.5em 25%; }",
        "p.front { font-style: italic; }",
        f".{ACTIVE_CLASS} {{ background-color: #fff3a8; color: #000; }}",
    ]
    others = [s for s in dict.fromkeys(voice_class(s) for s in speakers) if s != "voice-narrator"]
    for i, cls in enumerate(others):
        r, g, b = colorsys.hls_to_rgb((i * 0.618034) % 1.0, 0.35, 0.6)
        lines.append(
            f".{cls} {{ color: #{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}; }}"
        )
    return "\n".join(lines) + "\n"


def _nav(titles: Sequence[str], lang: str) -> str:
    items = "\n".join(
        f'<li><a href="c{n:03d}.xhtml">{_text(t)}</a></li>' for n, t in enumerate(titles, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"'
        f' xml:lang="{lang}" lang="{lang}">\n<head><meta charset="UTF-8"/><title>Contents</title>'
        '</head>\n<body><nav epub:type="toc" id="toc"><h1>Contents</h1>\n'
        f"<ol>\n{items}\n</ol></nav></body></html>\n"
    )


@dataclass
class EpubBook:
    title: str
    author: str | None
    language: str | None
    description: str | None
    cover: bytes | None  # JPEG


def _opf(book: EpubBook, pages: Sequence[_Page], lang: str, cover: bool) -> str:
    ident = uuid.uuid5(uuid.NAMESPACE_URL, f"audiobook:{book.title}\0{book.author or ''}")
    modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = [
        f'<dc:identifier id="uid">urn:uuid:{ident}</dc:identifier>',
        f"<dc:title>{_text(book.title)}</dc:title>",
        f"<dc:language>{lang}</dc:language>",
        f'<meta property="dcterms:modified">{modified}</meta>',
        f'<meta property="media:active-class">{ACTIVE_CLASS}</meta>',
    ]
    if book.author:
        meta.append(f"<dc:creator>{_text(book.author)}</dc:creator>")
    if book.description:
        meta.append(f"<dc:description>{_text(book.description)}</dc:description>")
    durations = [round(p.duration, 3) for p in pages]
    meta.append(f'<meta property="media:duration">{clock(sum(durations))}</meta>')
    items = [
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>',
        '<item id="css" href="style.css" media-type="text/css"/>',
    ]
    if cover:
        items.append(
            '<item id="cover" href="cover.jpg" media-type="image/jpeg" properties="cover-image"/>'
        )
    spine = []
    for n, (page, seconds) in enumerate(zip(pages, durations, strict=True), start=1):
        c = f"c{n:03d}"
        overlay = f' media-overlay="mo{n:03d}"' if page.pars else ""
        items.append(
            f'<item id="{c}" href="{c}.xhtml" media-type="application/xhtml+xml"{overlay}/>'
        )
        if page.pars:
            items.append(
                f'<item id="mo{n:03d}" href="{c}.smil" media-type="application/smil+xml"/>'
            )
            items.append(f'<item id="a{n:03d}" href="audio/{c}.mp3" media-type="audio/mpeg"/>')
            meta.append(
                f'<meta property="media:duration" refines="#mo{n:03d}">{clock(seconds)}</meta>'
            )
        spine.append(f'<itemref idref="{c}"/>')
    nl = "\n"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"'
        f' xml:lang="{lang}">\n'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"{nl.join(meta)}\n</metadata>\n<manifest>\n{nl.join(items)}\n</manifest>\n"
        f"<spine>\n{nl.join(spine)}\n</spine>\n</package>\n"
    )


_CONTAINER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    '<rootfiles><rootfile full-path="OEBPS/package.opf"'
    ' media-type="application/oebps-package+xml"/></rootfiles>\n</container>\n'
)


def write_readalong(
    dest: Path, script: Script, chapters: Sequence[ReadalongChapter], book: EpubBook
) -> Path:
    """Write the EPUB to ``dest`` (via ``.part``, renamed into place)."""
    lang = epub_language(book.language)
    pages = [_page(script, ch, lang) for ch in chapters]
    speakers = [c.voice or "" for ch in chapters for c in ch.cues]
    files: list[tuple[str, bytes | Path]] = [
        ("META-INF/container.xml", _CONTAINER.encode()),
        ("OEBPS/package.opf", _opf(book, pages, lang, book.cover is not None).encode()),
        ("OEBPS/nav.xhtml", _nav([ch.title for ch in chapters], lang).encode()),
        ("OEBPS/style.css", _css(speakers).encode()),
    ]
    if book.cover is not None:
        files.append(("OEBPS/cover.jpg", book.cover))
    for n, (page, ch) in enumerate(zip(pages, chapters, strict=True), start=1):
        c = f"c{n:03d}"
        files.append((f"OEBPS/{c}.xhtml", page.xhtml.encode()))
        if page.pars:
            files.append((f"OEBPS/{c}.smil", _smil(page, f"{c}.xhtml", f"audio/{c}.mp3").encode()))
            files.append((f"OEBPS/audio/{c}.mp3", ch.audio))
    _zip(dest, files)
    return dest


def _zip(dest: Path, files: Sequence[tuple[str, bytes | Path]]) -> None:
    """The OCF container: ``mimetype`` first and stored, audio stored (already
    compressed), the rest deflated."""
    try:
        # A fresh temporary file of our own (never through a symlink), renamed into place.
        with replacing(dest) as part, zipfile.ZipFile(part, "w") as z:
            z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", zipfile.ZIP_STORED)
            for name, data in files:
                if isinstance(data, Path):
                    z.write(data, name, zipfile.ZIP_STORED)
                else:
                    z.writestr(name, data, zipfile.ZIP_DEFLATED)
    except OSError as exc:
        raise ExportError(
            f"cannot write the read-along EPUB: {exc.strerror or exc}", dest
        ) from None
