"""The book's cover as JPEG bytes: the user's ``--cover`` image, else the EPUB/HTML
cover, else one we draw (title and author on a plain design).

Libraries and players want a JPEG named ``cover.jpg`` and the same picture embedded in
every file, so whatever comes in is converted to a baseline JPEG of sensible size.
Pillow is imported inside the functions: a render that never needs a cover stays fast
to start.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from audiobook.errors import LoadError

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image, ImageDraw, ImageFont

COVER_SIZE = 1400  # px square: what Audiobookshelf and podcast apps show well
MAX_SIDE = 2400  # larger covers are scaled down: they are embedded in every chapter
JPEG_QUALITY = 90
# Checked before decoding: a few KB of compressed PNG can claim 60,000 x 60,000 pixels
# (gigabytes once decoded). 40 million is a 6,300 px square, beyond any real cover.
MAX_COVER_PIXELS = 40_000_000
MAX_COVER_BYTES = 50 * 2**20

# Muted backgrounds with enough contrast for cream text; picked by a hash of the book.
_PALETTE = [
    (38, 70, 83),
    (42, 56, 92),
    (84, 48, 66),
    (52, 78, 65),
    (96, 62, 44),
    (60, 60, 72),
    (28, 84, 96),
    (102, 44, 48),
]
_TEXT = (246, 240, 226)


def _to_jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def normalize_cover(data: bytes) -> bytes:
    """Any image Pillow reads -> JPEG bytes (RGB, at most ``MAX_SIDE`` px a side). A
    JPEG that already fits is kept byte for byte. ``ValueError`` if not an image."""
    from PIL import Image

    if len(data) > MAX_COVER_BYTES:
        raise ValueError(f"image too large ({len(data) / 2**20:.0f} MB)")
    try:
        with Image.open(io.BytesIO(data)) as src:  # reads the header only
            width, height = src.size
            if width * height > MAX_COVER_PIXELS:
                limit = MAX_COVER_PIXELS // 10**6
                raise ValueError(
                    f"image too large ({width} x {height} pixels, limit {limit} million)"
                )
            src.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a big JPEG decodes at a fraction
            src.load()
            if src.format == "JPEG" and src.mode in ("RGB", "L") and max(src.size) <= MAX_SIDE:
                return data
            img = (
                src.convert("RGBA")
                if "A" in src.getbands() or "transparency" in src.info
                else src.convert("RGB")
            )
    except ValueError:
        raise
    except Exception as exc:  # Pillow raises many types for bad data (and bomb errors)
        raise ValueError(f"not a readable image ({type(exc).__name__})") from None
    if img.mode == "RGBA":  # JPEG has no alpha: put it on white like a page
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return _to_jpeg(img)


def read_cover_file(path: Path) -> bytes:
    """A user's cover image as JPEG bytes; ``LoadError`` naming the file otherwise.
    Only a regular file: a FIFO would wait for a writer, a device never ends."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise LoadError("cover image is not a regular file", path)
            if st.st_size > MAX_COVER_BYTES:
                raise LoadError(f"cover image too large ({st.st_size / 2**20:.0f} MB)", path)
            data = f.read(MAX_COVER_BYTES + 1)
    except OSError as exc:
        raise LoadError(f"cannot read cover image ({exc.strerror or exc})", path) from None
    try:
        return normalize_cover(data)
    except ValueError as exc:
        raise LoadError(f"cover image: {exc}", path) from None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled font via FreeType
    except (TypeError, ValueError, OSError):  # no FreeType: the small bitmap font
        return ImageFont.load_default()


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    *,
    split_words: bool,
) -> list[str] | None:
    """Greedy word wrap. A word wider than ``width`` makes it fail (None), or with
    ``split_words`` is cut into pieces that fit."""
    lines: list[str] = []
    for word in text.split():
        pieces = [word]
        if draw.textlength(word, font=font) > width:
            if not split_words:
                return None
            pieces = [""]
            for ch in word:
                if pieces[-1] and draw.textlength(pieces[-1] + ch, font=font) > width:
                    pieces.append("")
                pieces[-1] += ch
        for piece in pieces:
            if lines and draw.textlength(f"{lines[-1]} {piece}", font=font) <= width:
                lines[-1] = f"{lines[-1]} {piece}"
            else:
                lines.append(piece)
    return lines


def _fit(
    draw: ImageDraw.ImageDraw, text: str, width: int, height: int, sizes: list[int]
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[str], int]:
    """The largest font size (of ``sizes``, largest first) at which ``text`` wraps into
    the box: (font, lines, line step). Too long even at the smallest: cut, with "…"."""
    for size in sizes:
        font = _font(size)
        step = round(size * 1.2)
        lines = _wrap(draw, text, font, width, split_words=False)
        if lines is not None and len(lines) * step <= height:
            return font, lines, step
    lines = _wrap(draw, text, font, width, split_words=True) or [text]
    keep = max(1, height // step)
    if len(lines) > keep:
        lines = lines[:keep]
        lines[-1] = lines[-1][: max(1, len(lines[-1]) - 1)] + "…"
    return font, lines, step


def _sizes(largest: int, smallest: int, unit: float) -> list[int]:
    """Font sizes to try, largest first, scaled from a 1400 px design."""
    return sorted(
        {max(8, round(px * unit)) for px in range(largest, smallest - 1, -5)}, reverse=True
    )


def generated_cover(title: str, author: str | None, size: int = COVER_SIZE) -> bytes:
    """A plain square cover: the title large in the upper part, a rule, the author
    below. Deterministic: the same book always gets the same bytes (for a given Pillow)."""
    from PIL import Image, ImageDraw

    title = " ".join(title.split()) or "Untitled"
    author = " ".join((author or "").split())
    digest = hashlib.sha256(f"{title}\0{author}".encode()).digest()
    bg = _PALETTE[digest[0] % len(_PALETTE)]
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    margin = size // 10
    inset = size // 28
    draw.rectangle(
        (inset, inset, size - 1 - inset, size - 1 - inset), outline=_TEXT, width=max(2, size // 280)
    )
    width = size - 2 * margin
    unit = size / 1400
    font, lines, step = _fit(draw, title, width, round(size * 0.5), _sizes(150, 50, unit))
    y = round(size * 0.14) + (round(size * 0.5) - len(lines) * step) // 2
    for line in lines:
        draw.text((size / 2, y), line, font=font, fill=_TEXT, anchor="ma")
        y += step
    rule_y = round(size * 0.7)
    draw.line((size * 0.35, rule_y, size * 0.65, rule_y), fill=_TEXT, width=max(2, size // 350))
    if author:
        font, lines, step = _fit(draw, author, width, round(size * 0.16), _sizes(80, 30, unit))
        y = rule_y + round(size * 0.05)
        for line in lines:
            draw.text((size / 2, y), line, font=font, fill=_TEXT, anchor="ma")
            y += step
    return _to_jpeg(img)


def book_cover(
    title: str, author: str | None, embedded: bytes | None = None, override: Path | None = None
) -> bytes:
    """JPEG bytes for the book: ``override`` (a file the user named) wins, then the
    cover the EPUB/HTML carried, then a generated one. A broken embedded cover falls
    back to the generated one; a broken ``override`` is the user's error (LoadError)."""
    if override is not None:
        return read_cover_file(override)
    if embedded:
        try:
            return normalize_cover(embedded)
        except ValueError:
            pass
    return generated_cover(title, author)
