"""EPUB 2/3 -> one Document: spine documents in order, TOC titles as chapter headings.

An EPUB is untrusted input from the internet, so: every member read is size- and
ratio-checked (zip bombs), hrefs may not leave the archive (zip slip), package XML
is parsed without entities (XXE), and DRM is detected and named instead of
producing garbage.
"""

from __future__ import annotations

import zipfile
import zlib
from collections import deque
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Tag

from audiobook.errors import LoadError
from audiobook.model import BookMeta, Document
from audiobook.text.strings import folded_words

from .ao3 import may_be_ao3
from .decode import decode_text
from .html import document_paras
from .markup import Para, Region, assemble, attr_words, declared_charset, parse_html, tidy
from .opf import SKIP_TYPES, Package, TocEntry, nav_toc, ncx_toc, parse_package, rootfile_path
from .safexml import BrokenXML, UnsafeXML, attr, descendants, parse_xml
from .source import MB, check_file, os_reason

MEMBER_LIMIT = 50 * MB  # no chapter or cover is this big
RATIO_LIMIT = 200  # text deflates ~4:1; a 1000:1 member is a bomb
RATIO_MIN_SIZE = 1 * MB  # small members may legitimately compress very well
TOTAL_LIMIT = 512 * MB  # all members we read together
MAX_MEMBERS = 20_000
_FONT_OBFUSCATION = frozenset(
    {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
)
_NCX_TYPE = "application/x-dtbncx+xml"
# What reading a damaged member can raise (CRC, truncated deflate, unsupported method...).
_MEMBER_ERRORS = (
    zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError,
    ValueError,
)  # fmt: skip


def load_epub(path: Path) -> Document:
    check_file(path)
    try:
        zf = zipfile.ZipFile(path)
    except (PermissionError, FileNotFoundError, IsADirectoryError) as e:
        raise LoadError(os_reason(e), path) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise LoadError("not a valid EPUB (not a zip archive)", path) from None
    with zf:
        return _Book(path, _Archive(zf, path)).load()


class _Archive:
    """Read-only access to zip members, with zip-bomb limits on everything read."""

    def __init__(self, zf: zipfile.ZipFile, path: Path) -> None:
        # not ZipInfo.is_dir(): a corrupt directory entry can have an empty name
        infos = [i for i in zf.infolist() if i.filename and not i.filename.endswith("/")]
        if len(infos) > MAX_MEMBERS:
            raise LoadError("not a valid EPUB (too many files)", path)
        self._zf = zf
        self._path = path
        self._names = {i.filename: i for i in infos}
        self._folded: dict[str, zipfile.ZipInfo] = {}
        for i in infos:  # hrefs with the wrong letter case are a common authoring slip
            self._folded.setdefault(i.filename.casefold(), i)
        self._total = 0

    def find(self, name: str) -> zipfile.ZipInfo | None:
        return self._names.get(name) or self._folded.get(name.casefold())

    def first_opf(self) -> str | None:
        return next((n for n in sorted(self._names) if n.lower().endswith(".opf")), None)

    def read(self, name: str) -> bytes | None:
        """The member's bytes; None if it is missing or unreadable (a corrupt member)."""
        info = self.find(name)
        if info is None:
            return None
        size = info.file_size
        if size > MEMBER_LIMIT or (
            size > RATIO_MIN_SIZE and size > RATIO_LIMIT * max(info.compress_size, 1)
        ):
            raise LoadError("EPUB member too large (possible zip bomb)", self._path)
        if self._total + size > TOTAL_LIMIT:
            raise LoadError("EPUB too large to read (possible zip bomb)", self._path)
        if info.flag_bits & 0x1:
            raise LoadError("EPUB is encrypted (password-protected)", self._path)
        try:
            with self._zf.open(info) as f:
                data = f.read(MEMBER_LIMIT + 1)
        except _MEMBER_ERRORS:
            return None
        if len(data) > MEMBER_LIMIT:  # lied about its size
            raise LoadError("EPUB member too large (possible zip bomb)", self._path)
        self._total += len(data)
        return data


class _Book:
    def __init__(self, path: Path, archive: _Archive) -> None:
        self.path = path
        self.archive = archive

    def load(self) -> Document:
        self._check_drm()
        opf_path = self._find_opf()
        root = self._xml(opf_path)
        if root is None:
            raise LoadError("not a valid EPUB (broken OPF package)", self.path)
        pkg = parse_package(root, opf_path)
        toc, skip = self._toc(pkg)
        paras = self._spine_paras(pkg, toc, pkg.skip_paths | skip)
        text, hints = assemble(tidy(paras))
        if not text.strip():
            raise LoadError("EPUB has no readable text", self.path)
        meta = pkg.meta
        self._cover(pkg, meta)
        return Document(path=self.path, format="epub", text=text, meta=meta, hints=hints)

    def _xml(self, name: str) -> Any | None:
        data = self.archive.read(name)
        if data is None:
            return None
        try:
            return parse_xml(data)
        except UnsafeXML:
            reason = f"not a valid EPUB (unsafe XML entities in {name})"
            raise LoadError(reason, self.path) from None
        except BrokenXML:
            return None

    def _check_drm(self) -> None:
        data = self.archive.read("META-INF/encryption.xml")
        if data is None:
            return
        try:
            root = parse_xml(data)
        except (UnsafeXML, BrokenXML):
            raise LoadError("EPUB is DRM-protected", self.path) from None
        algorithms = {attr(m, "Algorithm") for m in descendants(root, "EncryptionMethod")}
        if algorithms - _FONT_OBFUSCATION:  # obfuscated fonts are not DRM: the text is plain
            raise LoadError("EPUB is DRM-protected", self.path)

    def _find_opf(self) -> str:
        container = self._xml("META-INF/container.xml")
        opf = rootfile_path(container) if container is not None else None
        if opf is None or self.archive.find(opf) is None:
            opf = self.archive.first_opf()
        if opf is None:
            raise LoadError("not a valid EPUB (no OPF package)", self.path)
        return opf

    def _toc(self, pkg: Package) -> tuple[list[TocEntry], dict[str, str]]:
        """TOC entries (EPUB3 nav, else EPUB2 NCX) and documents not to read aloud."""
        entries: list[TocEntry] = []
        skip: dict[str, str] = {}
        nav = next((i for i in pkg.items.values() if "nav" in i.properties and i.path), None)
        if nav is not None and nav.path is not None:
            parsed = self._html(nav.path)
            if parsed is not None:
                entries, skip = nav_toc(parsed[0], nav.path)
            skip[nav.path] = "toc"  # the nav page itself is a list of links
        if not entries:
            ncx = pkg.items.get(pkg.toc_id or "") or next(
                (i for i in pkg.items.values() if i.media_type == _NCX_TYPE), None
            )
            root = self._xml(ncx.path) if ncx is not None and ncx.path else None
            if root is not None and ncx is not None and ncx.path:
                entries = ncx_toc(root, ncx.path)
        return entries, skip

    def _html(self, name: str) -> tuple[BeautifulSoup, bool] | None:
        """The parsed document, and whether it may be an AO3 page; None if unreadable."""
        data = self.archive.read(name)
        if data is None:
            return None
        try:
            markup = decode_text(data, self.path, declared_charset(data))
        except LoadError:  # a binary file posing as a chapter
            return None
        return parse_html(markup), may_be_ao3(markup)

    def _spine_paras(self, pkg: Package, toc: list[TocEntry], skip: dict[str, str]) -> list[Para]:
        # Keys are case-folded: member lookup forgives letter case, so must matching.
        spine_paths = {item.path.casefold() for item in pkg.spine if item.path}
        by_doc: dict[str, list[TocEntry]] = {}
        for entry in toc:
            if entry.path.casefold() in spine_paths:
                by_doc.setdefault(entry.path.casefold(), []).append(entry)
        skip = {path.casefold(): kind for path, kind in skip.items()}
        use_toc = bool(by_doc)  # a TOC that points nowhere useful is ignored
        out: list[Para] = []
        seen: set[str] = set()
        for item in pkg.spine:
            path = item.path
            if path is None or path.casefold() in seen:
                continue
            seen.add(path.casefold())
            parsed = self._html(path)
            if parsed is None:
                continue  # missing or unreadable: read the rest of the book
            soup, ao3_possible = parsed
            paras, _ = document_paras(soup, ao3_possible=ao3_possible)
            if use_toc:  # the TOC, not <h1>-<h3>, says where chapters start
                for p in paras:
                    p.heading = 0
            skip_kind = skip.get(path.casefold()) or _skip_kind(soup)
            if skip_kind is not None:
                region = Region("skip", skip_kind)
                for p in paras:
                    p.region = p.region or region
            elif use_toc and any(p.region is None for p in paras):
                paras = apply_toc(paras, by_doc.get(path.casefold(), []))
            out.extend(paras)
        return out

    def _cover(self, pkg: Package, meta: BookMeta) -> None:
        item = pkg.cover
        if item is None or item.path is None:
            return
        try:
            data = self.archive.read(item.path)
        except LoadError:  # an oversized cover is not worth failing the book for
            return
        if not data:
            return
        declared = item.media_type if item.media_type.startswith("image/") else None
        mime = image_mime(data) or declared
        if mime is not None:
            meta.cover, meta.cover_mime = data, mime


def _skip_kind(soup: BeautifulSoup) -> str | None:
    """epub:type on <body> (or its only section) marking a cover, TOC, copyright page..."""
    body = soup.body
    if body is None:
        return None
    kinds = attr_words(body, "epub:type") + attr_words(body, "role")
    tags = [c for c in body.children if isinstance(c, Tag)]
    if len(tags) == 1:
        kinds += attr_words(tags[0], "epub:type") + attr_words(tags[0], "role")
    return next((k for k in kinds if k in SKIP_TYPES), None)


def apply_toc(paras: list[Para], entries: list[TocEntry]) -> list[Para]:
    """Make each TOC title targeting this document a level-1 (or nested) heading.

    An entry without fragment points at the document start; one with a fragment at the
    block holding that id. If the block there already says the title (the chapter's own
    heading), it becomes the heading; otherwise the title is inserted as its own block,
    so the title is read once, not twice.
    """
    anchor_at: dict[str, int] = {}
    for i, p in enumerate(paras):
        for a in p.anchors:
            anchor_at.setdefault(a, i)
    targets: dict[int, list[TocEntry]] = {}
    seen: set[tuple[str | None, str]] = set()
    for e in entries:
        key = (e.fragment, folded_words(e.title))
        if key in seen:
            continue
        seen.add(key)
        index = 0 if e.fragment is None else anchor_at.get(e.fragment)
        if index is None and 0 not in targets:  # unknown anchor: assume the document start
            index = 0
        if index is not None:
            targets.setdefault(index, []).append(e)
    out: list[Para] = []
    queue: deque[TocEntry] = deque()
    for i, p in enumerate(paras):
        queue.extend(targets.get(i, ()))
        while queue:
            e = queue.popleft()
            level = min(e.depth, 3)
            if p.region is None and not p.brk and not p.heading and _says_title(p, e.title):
                p.heading = level
                break  # p is used up; later entries try the following blocks
            out.append(Para(e.title, heading=level, tag_level=1))
        out.append(p)
    return out


def _says_title(p: Para, title: str) -> bool:
    """Whether block ``p`` already reads as ``title`` ("Chapter 1" vs "Chapter 1: Storm")."""
    a, b = folded_words(p.text), folded_words(title)
    if not a or not b:
        return False
    if a == b:
        return True
    if len(a) < len(b):  # the block is a shorter form of the title: only if heading-like
        return (p.tag_level > 0 or len(p.text) <= 40) and b.startswith(a + " ")
    return p.tag_level > 0 and a.startswith(b + " ")  # the heading adds a subtitle


def image_mime(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None
