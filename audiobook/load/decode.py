"""Bytes -> str for story files.

Order: BOM, binary sniffing, UTF-16 without BOM, UTF-8 (also "mostly UTF-8" with a
few stray cp1252 bytes, common in hand-edited fanfic), a charset the markup declares,
then a guess. The guess prefers cp1252: stories we see are mostly English, and
charset-normalizer alone misreads short Western text (e.g. as Big5 or UTF-16).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
from pathlib import Path

from charset_normalizer import from_bytes

from audiobook.errors import LoadError

try:  # charset-normalizer's own "how garbled is this" score
    from charset_normalizer.md import mess_ratio as _mess_ratio
except ImportError:  # pragma: no cover - its layout changed
    _mess_ratio = None  # type: ignore[assignment]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Short signatures a text could start with too; real files have a NUL right after.
_WEAK_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg audio"),
    (b"fLaC", "FLAC audio"),
)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"\x7fELF", "program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Microsoft Office document"),
    (b"{\\rtf", "RTF document"),
)

# WHATWG: pages labelled latin-1/ASCII are decoded as windows-1252 by every browser.
_DECLARED_ALIASES = {"iso8859_1": "cp1252", "ascii": "cp1252", "iso8859_15": "cp1252"}

# Codecs charset-normalizer may propose that never hold a story file we would get.
_IMPLAUSIBLE = re.compile(
    r"^(utf_16|utf_32|cp0?37|cp273|cp424|cp500|cp875|cp10[0-9]{2}|cp11[0-9]{2})"
)

_GUESS_MIN_BYTES = 64  # below this a statistical guess is noise; assume Western text
_C1 = re.compile(rb"[\x80-\x9f]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_BINARY_CONTROLS = re.compile(rb"[\x01-\x08\x0b\x0e-\x1f]")
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode
_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")
_SAMPLE = 20_000


def sniff_binary(data: bytes) -> str | None:
    """Name the kind of a well-known binary file, or None if it may be text."""
    head = data[:64]
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if data[30:58] == b"mimetypeapplication/epub+zip":
            return "EPUB e-book; rename it to .epub"
        if b"word/" in data[:4096]:
            return "Word document"
        return "ZIP archive"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WAVE": "WAV audio", b"WEBP": "WebP image"}.get(head[8:12], "RIFF media file")
    if head.startswith(b"BZh") and data[4:10] == b"1AY&SY":
        return "bzip2 archive"
    if data[257:262] == b"ustar" and b"\x00" in data[:257]:  # text and NULs: name it
        return "tar archive"
    if data[60:68] == b"BOOKMOBI":
        return "Kindle/MOBI e-book"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    for magic, name in _WEAK_MAGIC:
        if head.startswith(magic) and b"\x00" in head[:16]:
            return name
    return None


def decode_text(data: bytes, path: Path, declared: str | None = None) -> str:
    """Decode a story file; newlines are normalised like Python's universal newlines.

    ``declared`` is a charset named by the file itself (HTML meta / XML declaration).
    Raises ``LoadError`` for binary data; never raises ``UnicodeDecodeError``.
    """
    text = _decode(data, path, declared)  # a BOM is removed as bytes, exactly once
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes, path: Path, declared: str | None) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    kind = sniff_binary(data)
    if kind is not None:
        raise LoadError(f"not a text file (looks like {kind})", path)
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            return data.decode(utf16, errors="replace")
        stripped = _without_stray_nuls(data)
        if stripped is None:
            wide = _wide_without_bom(data)  # UTF-16/32 of a non-Latin script
            if wide is None:
                raise LoadError("not a text file (binary data)", path)
            return wide
        data = stripped
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    mixed = _mostly_utf8(data)
    if mixed is not None:
        return mixed
    codec = _declared_codec(declared)
    if codec is not None:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    return _guess(data)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text of mostly Latin script has a NUL in every other byte, on one side."""
    if len(data) % 2:
        return None
    n = len(data) // 2
    nul_even, nul_odd = data[0::2].count(0), data[1::2].count(0)
    if nul_odd >= max(1, n // 20) and nul_even * 50 <= nul_odd:
        encoding = "utf-16-le"
    elif nul_even >= max(1, n // 20) and nul_odd * 50 <= nul_even:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    controls = len(_CONTROLS.findall(text))
    return encoding if controls * 100 <= len(text) else None


_WIDE = ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")
_ODD = frozenset({"Cc", "Cn", "Co", "Cs"})  # controls, unassigned, private use, surrogates
_LAYOUT = frozenset("\t\n\r\f")


def _wide_without_bom(data: bytes) -> str | None:
    """UTF-16 or UTF-32 without a BOM whose text is not mostly Latin (so the NUL test
    of ``_utf16_without_bom`` cannot see it): the reading that decodes strictly, has
    no control, unassigned or private characters, and whose letters keep to a few
    scripts, as real text does (Japanese: kanji, hiragana, katakana); a wrong byte
    order or width scatters them over many."""
    best: tuple[float, str] | None = None
    for encoding in _WIDE:
        if len(data) % (4 if "32" in encoding else 2):
            continue
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = _sample(text)
        odd = sum(1 for ch in sample if ch not in _LAYOUT and unicodedata.category(ch) in _ODD)
        if not sample or odd * 1000 > len(sample):
            continue
        scripts = Counter(_script(ch) for ch in sample if ch.isalpha())
        top = sum(n for _, n in scripts.most_common(3)) / max(1, scripts.total())
        if scripts and top >= 0.8 and (best is None or top > best[0]):
            best = (top, text)
    return None if best is None else best[1]


def _script(ch: str) -> str:
    """A letter's script, near enough: the first word of its Unicode name (CYRILLIC,
    CJK, HIRAGANA, GREEK, LATIN...)."""
    return unicodedata.name(ch, "?").split(" ", 1)[0]


def _without_stray_nuls(data: bytes) -> bytes | None:
    """Text with NULs in it but no other control bytes: NUL padding left by a crash or
    a broken copy, or a stray NUL from an editor. The words are all there, so read them
    (a NUL is never part of a story); anything else with NULs is binary."""
    rest = data.replace(b"\x00", b"")
    if not rest.strip() or _BINARY_CONTROLS.search(rest):
        return None
    return rest


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few stray single bytes: decode those as cp1252, keep the rest."""
    text = data.decode("utf-8", errors="surrogateescape")
    bad = len(_ESCAPED.findall(text))
    good = len(_NON_ASCII.findall(text))
    if good < max(bad, 1):
        return None
    return _ESCAPED.sub(
        lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", errors="replace"), text
    )


def _declared_codec(declared: str | None) -> str | None:
    if not declared:
        return None
    try:
        name = codecs.lookup(declared).name.replace("-", "_")
    except LookupError:
        return None
    if name.startswith(("utf_16", "utf_32")):  # a file saved as UTF-8 keeps its old label
        return None
    return _DECLARED_ALIASES.get(name, name)


def _guess(data: bytes) -> str:
    try:
        western: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _mess_ratio is not None and _mess_ratio(_sample(western)) < 0.1:
        return western
    if western is not None and len(data) < _GUESS_MIN_BYTES:
        return western
    for match in from_bytes(data):
        if _IMPLAUSIBLE.match(match.encoding):
            continue
        if match.encoding == "latin_1" and western is not None and _C1.search(data):
            return western  # 0x80-0x9F are C1 controls in latin-1: smart quotes in cp1252
        return str(match)
    # Nothing convincing: cp1252 for what it can map, else latin-1, which maps every byte.
    return western if western is not None else data.decode("latin-1")


def _sample(text: str) -> str:
    """Start, middle and end: scoring a whole 64 MB book in Python would take minutes."""
    if len(text) <= 3 * _SAMPLE:
        return text
    mid = len(text) // 2
    return "\n".join((text[:_SAMPLE], text[mid : mid + _SAMPLE], text[-_SAMPLE:]))
