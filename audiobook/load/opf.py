"""The EPUB package: container.xml -> OPF (metadata, manifest, spine, guide) and TOCs."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from bs4 import BeautifulSoup, Tag

from audiobook.model import BookMeta

from .markup import attr_words, html_to_paras, local_name, paras_text, parse_html, text_of
from .safexml import attr, children, descendants, first, xml_text

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_YEAR = re.compile(r"\b(1[0-9]{3}|2[0-9]{3})\b")  # also skips calibre's "0101" = no date
_MAX_TOC_DEPTH = 32
# Documents a reader would not want read aloud (EPUB2 guide types, EPUB3 epub:type).
# fmt: off
SKIP_TYPES = frozenset({
    "cover", "titlepage", "title-page", "halftitlepage", "toc", "landmarks", "page-list", "loi",
    "lot", "index", "copyright-page", "copyright", "colophon", "imprint", "doc-toc", "doc-cover",
    "doc-colophon", "doc-index",
})
# fmt: on


@dataclass
class Item:
    id: str
    path: str | None  # member name in the zip; None if it is remote or escapes the archive
    media_type: str
    properties: frozenset[str] = frozenset()

    @property
    def is_document(self) -> bool:
        if self.path is None:
            return False
        return "html" in self.media_type or self.path.lower().endswith((".xhtml", ".html", ".htm"))


@dataclass
class TocEntry:
    path: str
    fragment: str | None
    title: str
    depth: int  # 1 = top level


@dataclass
class Package:
    meta: BookMeta
    items: dict[str, Item]
    spine: list[Item]  # linear documents in reading order
    toc_id: str | None  # spine@toc: the NCX
    cover: Item | None
    skip_paths: dict[str, str] = field(default_factory=dict)  # guide: path -> cover, toc...


def resolve(from_path: str, href: str) -> tuple[str | None, str | None]:
    """(member path, fragment) for ``href`` found in the file ``from_path``.

    The path is None for remote URLs and for anything escaping the archive root
    (``../``, absolute paths): those are refused, never looked up.
    """
    target, _, fragment = href.strip().partition("#")
    frag = unquote(fragment) or None
    if _SCHEME.match(target) or "\x00" in target:
        return None, frag
    target = unquote(target)
    if not target:
        return from_path, frag
    if target.startswith("/"):
        return None, frag
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), target))
    if joined in (".", "..") or joined.startswith("../"):
        return None, frag
    return joined, frag


def rootfile_path(container: Any) -> str | None:
    for rootfile in descendants(container, "rootfile"):
        media = attr(rootfile, "media-type")
        full = attr(rootfile, "full-path")
        if full and (not media or media == "application/oebps-package+xml"):
            path, _ = resolve("", full)
            if path is not None:
                return path
    return None


def parse_package(root: Any, opf_path: str) -> Package:
    items: dict[str, Item] = {}
    for el in descendants(root, "item"):
        ident, href = attr(el, "id"), attr(el, "href")
        if ident and href and ident not in items:
            path, _ = resolve(opf_path, href)
            props = frozenset(attr(el, "properties").split())
            items[ident] = Item(ident, path, attr(el, "media-type").lower(), props)
    spine_el = first(root, "spine")
    spine: list[Item] = []
    toc_id = None
    if spine_el is not None:
        toc_id = attr(spine_el, "toc") or None
        for ref in children(spine_el, "itemref"):
            item = items.get(attr(ref, "idref"))
            if item is not None and item.is_document and attr(ref, "linear").lower() != "no":
                spine.append(item)
    skip_paths: dict[str, str] = {}
    for ref in descendants(root, "reference"):
        path, _ = resolve(opf_path, attr(ref, "href"))
        kind = attr(ref, "type").lower()
        if path is not None and kind in SKIP_TYPES:
            skip_paths.setdefault(path, kind)
    metadata = first(root, "metadata")
    meta = _metadata(metadata) if metadata is not None else BookMeta()
    cover = _cover_item(metadata, items)
    return Package(meta, items, spine, toc_id, cover, skip_paths)


def _metadata(md: Any) -> BookMeta:
    metas = descendants(md, "meta")
    named = {attr(m, "name"): attr(m, "content") for m in metas if attr(m, "name")}
    refines: dict[str, dict[str, str]] = {}  # EPUB3: "#id" -> {property: value}
    for m in metas:
        target = attr(m, "refines").lstrip("#")
        if target and attr(m, "property"):
            refines.setdefault(target, {})[attr(m, "property")] = xml_text(m)
    meta = BookMeta()
    titles = [t for t in descendants(md, "title") if xml_text(t)]
    main = [t for t in titles if refines.get(attr(t, "id"), {}).get("title-type") == "main"]
    if titles:
        meta.title = xml_text((main or titles)[0])
    meta.author = _authors(descendants(md, "creator"), refines)
    desc = next((xml_text(d) for d in descendants(md, "description") if xml_text(d)), "")
    meta.description = _plain(desc) or None
    meta.language = next((xml_text(x) for x in descendants(md, "language") if xml_text(x)), None)
    meta.genre = next((xml_text(x) for x in descendants(md, "subject") if xml_text(x)), None)
    meta.year = _year(descendants(md, "date"))
    meta.series, meta.series_part = _series(metas, named, refines)
    return meta


def _authors(creators: list[Any], refines: dict[str, dict[str, str]]) -> str | None:
    """Creators with role "aut" (or no role); editors and tools (calibre) only as a last resort."""
    people: list[tuple[str, str]] = []
    for c in creators:
        name = xml_text(c)
        if name:
            role = attr(c, "role") or refines.get(attr(c, "id"), {}).get("role", "")
            people.append((name, role.strip().lower()))
    for wanted in ({"aut"}, {""}, None):
        names = [n for n, r in people if wanted is None or r in wanted]
        if names:
            return ", ".join(dict.fromkeys(names))
    return None


def _plain(description: str) -> str:
    """dc:description often holds escaped HTML; the player wants plain text."""
    if "<" in description and ">" in description:
        soup = parse_html(description)
        return paras_text(html_to_paras(soup.body or soup))
    return description.strip()


def _year(dates: list[Any]) -> str | None:
    def rank(d: Any) -> int:
        return 0 if attr(d, "event").lower() in ("publication", "original-publication") else 1

    for d in sorted(dates, key=rank):
        m = _YEAR.search(xml_text(d))
        if m is not None:
            return m.group(1)
    return None


def _series(
    metas: list[Any], named: dict[str, str], refines: dict[str, dict[str, str]]
) -> tuple[str | None, str | None]:
    if named.get("calibre:series"):
        return named["calibre:series"].strip(), _part(named.get("calibre:series_index", ""))
    for m in metas:
        if attr(m, "property") == "belongs-to-collection" and xml_text(m):
            extra = refines.get(attr(m, "id"), {})
            if extra.get("collection-type", "series") == "series":
                return xml_text(m), _part(extra.get("group-position", ""))
    return None, None


def _part(index: str) -> str | None:
    index = index.strip()
    if not index:
        return None
    if re.fullmatch(r"\d+\.0+", index):  # calibre writes "2.0"
        return index.split(".")[0]
    return index


def _cover_item(md: Any | None, items: dict[str, Item]) -> Item | None:
    images = [i for i in items.values() if i.media_type.startswith("image/") and i.path]
    for item in images:
        if "cover-image" in item.properties:
            return item
    if md is not None:
        for m in descendants(md, "meta"):
            if attr(m, "name") == "cover":
                ref = attr(m, "content")
                named = items.get(ref)
                if named is None and ref:  # some tools put the href here, not the id
                    named = next((i for i in images if (i.path or "").endswith(ref)), None)
                if named is not None and named.media_type.startswith("image/"):
                    return named
    for item in images:
        if "cover" in item.id.lower() or "cover" in (item.path or "").lower():
            return item
    return None


def nav_toc(soup: BeautifulSoup, nav_path: str) -> tuple[list[TocEntry], dict[str, str]]:
    """EPUB3 nav document: the ``toc`` nav's entries, and paths its landmarks say to skip."""
    navs = [n for n in soup.find_all("nav") if isinstance(n, Tag)]

    def kinds(n: Tag) -> list[str]:
        return attr_words(n, "epub:type") + attr_words(n, "role")

    toc_nav = next((n for n in navs if {"toc", "doc-toc"} & set(kinds(n))), None)
    if toc_nav is None:
        toc_nav = next((n for n in navs if not kinds(n)), None)
    entries: list[TocEntry] = []
    if toc_nav is not None:
        top = toc_nav.find("ol")
        if isinstance(top, Tag):
            _nav_list(top, nav_path, 1, entries)
    skip: dict[str, str] = {}
    for n in navs:
        if "landmarks" in kinds(n):
            for a in n.find_all("a"):
                path, frag = resolve(nav_path, str(a.get("href") or ""))
                kind = next((k for k in attr_words(a, "epub:type") if k in SKIP_TYPES), None)
                if path and not frag and kind:
                    skip.setdefault(path, kind)
    return entries, skip


def _nav_list(ol: Tag, nav_path: str, depth: int, out: list[TocEntry]) -> None:
    if depth > _MAX_TOC_DEPTH:
        return
    for li in ol.find_all("li", recursive=False):
        link = next((c for c in li.children if isinstance(c, Tag) and local_name(c) == "a"), None)
        if link is not None and link.get("href"):
            path, frag = resolve(nav_path, str(link.get("href")))
            title = text_of(link)
            if path is not None and title:
                out.append(TocEntry(path, frag, title, depth))
        sub = li.find("ol", recursive=False)
        if isinstance(sub, Tag):
            _nav_list(sub, nav_path, depth + 1, out)


def ncx_toc(root: Any, ncx_path: str) -> list[TocEntry]:
    """EPUB2 NCX navMap entries, in reading order."""
    nav_map = first(root, "navMap")
    entries: list[TocEntry] = []
    if nav_map is not None:
        _ncx_points(nav_map, ncx_path, 1, entries)
    return entries


def _ncx_points(parent: Any, ncx_path: str, depth: int, out: list[TocEntry]) -> None:
    if depth > _MAX_TOC_DEPTH:
        return
    for point in children(parent, "navPoint"):
        label = first(point, "text")
        content = next(iter(children(point, "content")), None)
        if label is not None and content is not None:
            path, frag = resolve(ncx_path, attr(content, "src"))
            title = xml_text(label)
            if path is not None and title:
                out.append(TocEntry(path, frag, title, depth))
        _ncx_points(point, ncx_path, depth + 1, out)
