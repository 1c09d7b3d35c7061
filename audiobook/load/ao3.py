"""Archive of Our Own works: which parts are the story, front matter, or boilerplate.

Two layouts are recognised: the HTML/EPUB *download* (``#preface``, ``#chapters``,
``#afterword``) and a *saved work page* (``#workskin``). Instead of rewriting the
page, we tag elements with roles for the shared ``html_to_paras`` walk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Tag

from audiobook.model import BookMeta

from .markup import Region, Role, attr_words, html_to_paras, paras_text, text_of

_LANGUAGES = {  # AO3 shows a language's own name; players want a code
    "english": "en", "español": "es", "français": "fr", "deutsch": "de", "italiano": "it",
    "português brasileiro": "pt", "português europeu": "pt", "русский": "ru", "polski": "pl",
    "nederlands": "nl", "svenska": "sv", "dansk": "da", "norsk": "no", "suomi": "fi",
    "čeština": "cs", "magyar": "hu", "türkçe": "tr", "中文-普通话 國語": "zh", "日本語": "ja",
    "한국어": "ko", "bahasa indonesia": "id", "tiếng việt": "vi", "українська": "uk",
}  # fmt: skip
_SERIES = re.compile(r"Part\s+(\d+)\s+of\s+(.+?)(?:\s*,\s*Part\s+\d+\s+of\b.*)?$", re.S)
_YEAR_AFTER = {"stats": re.compile(r"Published:?\s*(\d{4})"), "published": re.compile(r"(\d{4})")}
# The work's tags a listener browsing a library wants: fandom (the genre), pairing, rating.
_TAG_FIELDS = {
    "fandom": "fandom",
    "fandoms": "fandom",
    "relationship": "pairing",
    "relationships": "pairing",
    "rating": "rating",
}
_BY = re.compile(r"^\s*by\s+", re.I)
_AO3_IDS = re.compile(r"""\bid\s*=\s*["']?(?:workskin|chapters|preface|afterword)\b""", re.I)


@dataclass
class Ao3Work:
    root: Tag  # where the story lives (the body, or #workskin on a saved page)
    roles: dict[int, Role] = field(default_factory=dict)  # keyed by id(tag)
    meta: BookMeta = field(default_factory=BookMeta)

    def role(self, el: Tag) -> Role | None:
        return self.roles.get(id(el))

    def set(self, el: Tag | None, role: Role, override: bool = True) -> None:
        if el is not None and (override or id(el) not in self.roles):
            self.roles[id(el)] = role


def may_be_ao3(markup: str) -> bool:
    """A cheap test on the raw markup; it spares big non-AO3 pages four tree searches."""
    return _AO3_IDS.search(markup) is not None


def analyse(soup: BeautifulSoup) -> Ao3Work | None:
    """Roles and metadata for an AO3 work, or None if this is not one."""
    workskin = _by_id(soup, "workskin")  # first: a saved page also has #chapters
    if workskin is not None:
        return _saved_page(soup, workskin)
    chapters = _by_id(soup, "chapters")
    preface = _by_id(soup, "preface")
    afterword = _by_id(soup, "afterword")
    if chapters is not None or preface is not None or afterword is not None:
        return _download(soup, preface, chapters, afterword)
    return None


def _download(
    soup: BeautifulSoup, preface: Tag | None, chapters: Tag | None, afterword: Tag | None
) -> Ao3Work:
    work = Ao3Work(root=soup.body or soup)
    work.set(preface, Region("skip", "header"))
    work.set(afterword, Region("skip", "afterword"))
    summary = _mark_userstuff_blocks(work, soup)
    if chapters is not None:
        headings = chapters.select("div.meta h2.heading")
        if headings:  # multi-chapter: AO3's chapter headers are the chapters
            _demote_inner_headings(work, chapters)
        for group in chapters.select("div.meta"):
            work.set(group, Region("skip", "chapter header"), override=False)
        for h in headings:
            work.set(h, 2)
    if preface is not None:
        meta_div = preface.select_one("div.meta") or preface
        title = meta_div.find("h1") or preface.select_one("p.message b")
        work.meta.title = _text(title)
        work.meta.author = _author(preface.select_one(".byline"))
        _read_tags(work.meta, preface.select_one("dl.tags"))
    work.meta.description = summary
    return work


def _saved_page(soup: BeautifulSoup, workskin: Tag) -> Ao3Work:
    work = Ao3Work(root=workskin)
    for el in workskin.select("div.preface"):
        work.set(el, Region("skip", "header"))
    for el in workskin.select("h3.landmark, .jump, .byline"):
        work.set(el, Region("skip", "header"))
    summary = None
    for el in workskin.select("div.summary"):
        work.set(el, Region("front", "summary"))
        parent_classes = attr_words(el.parent, "class") if el.parent is not None else []
        if summary is None and "chapter" not in parent_classes:
            summary = _block_text(el.select_one("blockquote.userstuff") or el)
    for el in workskin.select("div.notes"):
        work.set(el, Region("front", "notes"))
    headings = workskin.select("div.chapter div.preface h3.title")
    if headings:
        _demote_inner_headings(work, workskin)
    for h in headings:
        work.set(h, 2)
    work_preface = workskin.select_one("div.preface")
    if work_preface is not None:
        work.meta.title = _text(work_preface.select_one("h2.title"))
        work.meta.author = _author(work_preface.select_one("h3.byline"))
    work.meta.description = summary
    _read_tags(work.meta, soup.select_one("dl.work.meta"))
    return work


def _mark_userstuff_blocks(work: Ao3Work, soup: BeautifulSoup) -> str | None:
    """Summary/notes: a short ``<p>`` label followed by ``blockquote.userstuff``.

    Returns the work summary's text (the first summary outside ``#chapters``).
    """
    summary: str | None = None
    for bq in soup.select("blockquote.userstuff"):
        label = bq.find_previous_sibling()
        if not (isinstance(label, Tag) and label.name == "p" and len(text_of(label)) <= 40):
            label = None
        kind = "summary" if label is not None and "summary" in text_of(label).lower() else "notes"
        region = Region("front", kind)
        holder = bq.parent
        if (
            isinstance(holder, Tag)
            and str(holder.get("id", "")).startswith("endnotes")
            and len(holder.find_all(recursive=False)) <= 2
        ):
            work.set(holder, region)  # the end-notes box is nothing but label + notes
        else:
            work.set(bq, region)
            work.set(label, region)
        if kind == "summary" and summary is None and bq.find_parent(id="chapters") is None:
            summary = _block_text(bq)
    for el in soup.select(".endnote-link"):
        work.set(el, Region("skip", "notes link"))
    return summary


def _demote_inner_headings(work: Ao3Work, scope: Tag) -> None:
    """Headings an author put inside chapter text are not chapters of their own."""
    for body in scope.select("div.userstuff"):
        for h in body.find_all(re.compile(r"^h[1-6]$")):
            work.set(h, 0, override=False)  # keep e.g. the "Chapter Text" landmark skipped


def _read_tags(meta: BookMeta, dl: Tag | None) -> None:
    """Fandom, pairing, rating, language, series and year from the tag list (``dt``
    label / ``dd`` value pairs)."""
    if dl is None:
        return
    for dt in dl.find_all("dt"):
        dd = dt.find_next_sibling("dd")
        if dd is None:
            continue
        label = text_of(dt).rstrip(":").strip().lower()
        value = text_of(dd)
        field_name = _TAG_FIELDS.get(label)
        if field_name is not None and getattr(meta, field_name) is None:
            tags = [text_of(a) for a in dd.find_all("a")] or [value]
            setattr(meta, field_name, ", ".join(t for t in tags if t) or None)
            if field_name == "fandom" and meta.genre is None:
                meta.genre = meta.fandom  # what a library groups a fanfic by
        elif label == "language":
            meta.language = _LANGUAGES.get(value.lower())
        elif label == "series" and meta.series is None:
            m = _SERIES.search(value)
            if m is not None:
                meta.series_part, meta.series = m.group(1), m.group(2).strip()
        elif label in _YEAR_AFTER and meta.year is None:
            m = _YEAR_AFTER[label].search(value)
            if m is not None:
                meta.year = m.group(1)


def _by_id(soup: BeautifulSoup, ident: str) -> Tag | None:
    el = soup.find(id=ident)
    return el if isinstance(el, Tag) else None


def _text(el: Tag | None) -> str | None:
    return (text_of(el) or None) if el is not None else None


def _author(el: Tag | None) -> str | None:
    text = _text(el)
    if text is None:
        return None
    return _BY.sub("", text).strip() or None


def _block_text(el: Tag) -> str | None:
    return paras_text(html_to_paras(el)) or None
