"""HTML stories (AO3 downloads, FanFiction.Net pages, saved web pages, exported documents)."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup, Tag

from audiobook.errors import LoadError
from audiobook.model import BookMeta, Document

from . import ao3, ffn
from .decode import decode_text
from .markup import Para, assemble, declared_charset, html_to_paras, parse_html, text_of, tidy

_AUTHOR_META = ("author", "dc.creator", "dcterms.creator", "book:author")


def load_html(path: Path, data: bytes) -> Document:
    markup = decode_text(data, path, declared_charset(data))
    soup = parse_html(markup)
    page = ffn.analyse(soup) if "storytext" in markup else None
    if page is not None:
        paras, meta = html_to_paras(page.root), page.meta
    else:
        paras, work = document_paras(soup, ao3_possible=ao3.may_be_ao3(markup))
        meta = work.meta if work is not None else BookMeta()
    text, hints = assemble(tidy(paras))
    if not text.strip():
        raise LoadError("file has no text", path)
    _fill_generic_meta(meta, soup, paras)
    return Document(path=path, format="html", text=text, meta=meta, hints=hints)


def document_paras(
    soup: BeautifulSoup, markup_headings: bool = True, ao3_possible: bool = True
) -> tuple[list[Para], ao3.Ao3Work | None]:
    """The readable blocks of one HTML document; shared by the HTML and EPUB loaders."""
    work = ao3.analyse(soup) if ao3_possible else None
    if work is not None:
        return html_to_paras(work.root, work.role, markup_headings), work
    return html_to_paras(soup.body or soup, None, markup_headings), None


def _fill_generic_meta(meta: BookMeta, soup: BeautifulSoup, paras: list[Para]) -> None:
    """Fill what AO3 analysis left empty from <title>, <h1>, <meta name=author>, lang."""
    head = soup.head
    if meta.title is None:
        title_el = head.find("title") if head is not None else None
        title = text_of(title_el) if isinstance(title_el, Tag) else ""
        # The walk already met every <h1>; searching the tree again costs seconds on big pages.
        h1 = next((p.text for p in paras if p.tag_level == 1), "")
        meta.title = _title(title, h1)
    if meta.author is None and head is not None:
        for el in head.find_all("meta"):
            name = str(el.get("name") or el.get("property") or "").lower()
            content = el.get("content")
            if name in _AUTHOR_META and isinstance(content, str) and content.strip():
                meta.author = content.strip()
                break
    if meta.language is None:
        html = soup.find("html")
        if isinstance(html, Tag):
            lang = html.get("lang") or html.get("xml:lang")
            if isinstance(lang, str) and lang.strip():
                meta.language = lang.strip()


def _title(title: str, h1: str) -> str | None:
    """<title> often carries a site name ("Story - Site"); prefer the <h1> it contains."""
    if h1 and title and h1.casefold() in title.casefold():
        return h1
    return title or h1 or None
