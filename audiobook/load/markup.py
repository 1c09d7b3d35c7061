"""HTML/XHTML -> paragraphs: the one routine both the HTML and the EPUB loaders use.

The walk yields ``Para`` items (one per block of readable text) rather than a string,
so loaders can still re-label, insert or merge blocks (EPUB TOC titles, AO3 front
matter) before ``assemble`` turns them into ``Document.text`` plus ``Hint`` offsets.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import PreformattedString

from audiobook.model import Hint

BREAK_TEXT = "* * *"


@dataclass(eq=False)
class Region:
    """Front matter or skipped text; paragraphs sharing one Region get one Hint."""

    kind: Literal["front", "skip"]
    label: str | None = None


@dataclass
class Para:
    text: str
    heading: int = 0  # 1-3: starts a chapter (a "heading" Hint); 0: none
    tag_level: int = 0  # the h1-h6 it came from, 0 for other elements
    brk: bool = False  # a scene break (<hr>)
    region: Region | None = None
    anchors: list[str] = field(default_factory=list)  # ids that point at this block


# What a classifier may say about an element: its text is a Region, or it is a heading
# with this hint level (0: read it as a plain paragraph). None: default handling.
Role = Region | int
Classifier = Callable[[Tag], Role | None]

# fmt: off
_SKIP_TAGS = frozenset({
    "head", "title", "script", "style", "noscript", "template", "meta", "link", "base", "svg",
    "math", "iframe", "object", "embed", "audio", "video", "canvas", "map", "button", "select",
    "textarea", "input", "option", "datalist", "rt", "rp",
    "nav",  # site menus and EPUB tables of contents: links, not story
})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header",
    "hgroup", "html", "legend", "li", "main", "ol", "p", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
# fmt: on
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}

_SPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")  # soft hyphen, zero-width space...
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_NOTE_MARK = re.compile(r"^\W*(?:\d{1,3}|[ivx]{1,4}|[*†‡§])\W*$", re.I)
# An XML declaration or DOCTYPE (with any internal subset, which the HTML parser would
# otherwise spill into the text) at the start of the markup.
_PROLOG = re.compile(r"<\?xml[^>]*>|<!DOCTYPE(?:[^\[>]|\[[^\]]*\])*>", re.I)
_DECLARED = (
    re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I),
    re.compile(rb"<\?xml[^>]+encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.I),
)


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML/XHTML file names for itself, if any."""
    head = data[:4096]
    for pattern in _DECLARED:
        m = pattern.search(head)
        if m is not None:
            return m.group(1).decode("ascii")
    return None


def parse_html(markup: str) -> BeautifulSoup:
    """Parse HTML or XHTML leniently with lxml's HTML parser.

    The HTML parser never expands entities declared in a DOCTYPE (no XXE, no entity
    bombs) and honours XHTML's ``<div/>``; the prolog is removed because its internal
    subset would otherwise leak into the text.
    """
    head, rest = markup[:65536], markup[65536:]
    markup = _PROLOG.sub("", head, count=2) + rest
    with warnings.catch_warnings():  # XMLParsedAsHTMLWarning etc. are not the user's concern
        warnings.simplefilter("ignore")
        return BeautifulSoup(markup, "lxml")


def clean(text: str) -> str:
    """Collapse whitespace runs to one space; drop invisible characters."""
    return _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()


def text_of(el: Tag) -> str:
    return clean(el.get_text())


def local_name(el: Tag) -> str:
    return el.name.rsplit(":", 1)[-1].lower()


def attr_words(el: Tag, name: str) -> list[str]:
    """A space-separated attribute (class, epub:type...) as a list, whatever bs4 made of it."""
    value = el.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [w for v in value for w in v.split()]


def html_to_paras(
    root: Tag, classify: Classifier | None = None, markup_headings: bool = True
) -> list[Para]:
    """The readable blocks under ``root``, in order.

    ``markup_headings``: whether h1-h3 become chapter headings (off where something
    more reliable, like an EPUB TOC or AO3's chapter headers, says where chapters are).
    """
    walker = _Walker(classify, markup_headings)
    walker.run(root)
    return walker.paras


class _Close:
    """A stack marker: run ``action`` when the walk leaves an element."""

    __slots__ = ("action",)

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action


class _Walker:
    """An explicit-stack walk: stories can nest thousands of <div>s deep."""

    def __init__(self, classify: Classifier | None, markup_headings: bool) -> None:
        self.paras: list[Para] = []
        self._classify = classify
        self._markup_headings = markup_headings
        self._pieces: list[str | None] = []  # None marks a <br>
        self._anchors: list[str] = []
        self._regions: list[Region | None] = []  # None: a heading escaping its region
        self._in_heading = 0
        self._in_pre = 0
        self._in_q = 0

    def run(self, root: Tag) -> None:
        stack: list[PageElement | _Close] = list(reversed(root.contents))
        while stack:
            item = stack.pop()
            if isinstance(item, _Close):
                item.action()
            elif isinstance(item, NavigableString):
                if not isinstance(item, PreformattedString):  # comments, CDATA, PIs...
                    self._text(str(item))
            elif isinstance(item, Tag):
                descend, close = self._open(item)
                if descend:
                    if close is not None:
                        stack.append(_Close(close))
                    stack.extend(reversed(item.contents))
        self._flush()

    def _open(self, el: Tag) -> tuple[bool, Callable[[], None] | None]:
        """Handle entering ``el``: (walk its children?, what to do on leaving it)."""
        name = local_name(el)
        if name in _SKIP_TAGS or _is_hidden(el):
            return False, None
        self._note_anchor(el)
        if _is_noise(el, name):
            return False, None
        role = self._classify(el) if self._classify is not None else None
        if isinstance(role, Region):
            self._flush()
            self._regions.append(role)
            return True, self._leave_region
        level = _HEADINGS.get(name, 0)
        if (role is not None or level) and not self._in_heading:
            return True, self._enter_heading(role, level)
        if name == "br":
            self._pieces.append(None)
            return False, None
        if name == "hr":
            if not self._in_heading:
                self._flush()
                self._add(Para(BREAK_TEXT, brk=True))
            return False, None
        if name == "q":  # browsers draw the quotation marks; dialogue detection needs them
            return True, self._enter_q()
        if self._in_heading or (name not in _BLOCK_TAGS and name != "pre"):
            return True, None  # inline: its text joins the current block
        self._flush()
        if name == "pre":
            self._in_pre += 1
            return True, self._leave_pre
        return True, self._flush

    def _enter_heading(self, role: int | None, tag_level: int) -> Callable[[], None]:
        self._flush()
        if role is not None:
            hint_level = role
            self._regions.append(None)  # an explicit heading is never part of a region
        else:
            hint_level = tag_level if self._markup_headings and tag_level <= 3 else 0
        self._in_heading += 1

        def leave() -> None:
            self._in_heading -= 1
            self._flush(heading=hint_level, tag_level=tag_level or 1)
            if role is not None:
                self._regions.pop()

        return leave

    def _enter_q(self) -> Callable[[], None]:
        marks = "\u201c\u201d" if self._in_q % 2 == 0 else "\u2018\u2019"
        self._in_q += 1
        self._pieces.append(marks[0])

        def leave() -> None:
            self._in_q -= 1
            self._pieces.append(marks[1])

        return leave

    def _leave_region(self) -> None:
        self._flush()
        self._regions.pop()

    def _leave_pre(self) -> None:
        self._flush()
        self._in_pre -= 1

    def _note_anchor(self, el: Tag) -> None:
        for key in ("id", "name") if el.name == "a" else ("id",):
            value = el.get(key)
            if isinstance(value, str) and value:
                self._anchors.append(value)

    def _text(self, text: str) -> None:
        if not self._in_pre:
            self._pieces.append(text)
            return
        for i, line in enumerate(text.split("\n")):
            if i:
                self._pieces.append(None)
            self._pieces.append(line)

    def _flush(self, heading: int = 0, tag_level: int = 0) -> None:
        if not self._pieces:
            return
        lines: list[str] = []
        current: list[str] = []
        for piece in self._pieces:
            if piece is None:
                lines.append(clean("".join(current)))
                current = []
            else:
                current.append(piece)
        lines.append(clean("".join(current)))
        self._pieces = []
        if tag_level:
            text = _join_heading_lines(lines)
            if text:
                self._add(Para(text, heading=heading, tag_level=tag_level))
            return
        # One <br> is a line break inside a paragraph; an empty line (<br><br>) ends it.
        block: list[str] = []
        for line in [*lines, ""]:
            if line:
                block.append(line)
            elif block:
                self._add(Para("\n".join(block)))
                block = []

    def _add(self, para: Para) -> None:
        para.region = self._regions[-1] if self._regions else None
        para.anchors, self._anchors = self._anchors, []
        self.paras.append(para)


def _join_heading_lines(lines: list[str]) -> str:
    """ "Chapter 1<br>The Storm" reads best as "Chapter 1: The Storm"."""
    out = ""
    for line in lines:
        if not line:
            continue
        if out:
            out += " " if out[-1] in ".:;!?-–—" else ": "
        out += line
    return out


def _is_hidden(el: Tag) -> bool:
    if el.has_attr("hidden"):
        return True
    style = el.get("style")
    return isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None


def _is_noise(el: Tag, name: str) -> bool:
    """Page numbers and footnote markers: read aloud they break the sentence."""
    kinds = attr_words(el, "epub:type") + attr_words(el, "role")
    if any(k in ("pagebreak", "doc-pagebreak", "noteref", "doc-noteref") for k in kinds):
        return True
    if name == "a":
        href = el.get("href")
        if isinstance(href, str) and "#" in href and _NOTE_MARK.match(el.get_text()):
            return True
    return False


def tidy(paras: Iterable[Para]) -> list[Para]:
    """Drop scene breaks that separate nothing: at either end, doubled, next to a heading."""
    out: list[Para] = []
    for p in paras:
        if p.brk and p.region is None and (not out or _breaks_nothing(out[-1])):
            continue
        if out and out[-1].brk and out[-1].region is None and p.region is None and p.heading:
            out.pop()
        out.append(p)
    while out and out[-1].brk and out[-1].region is None:
        out.pop()
    return out


def _breaks_nothing(prev: Para) -> bool:
    return prev.brk or bool(prev.heading) or prev.region is not None


def assemble(paras: Iterable[Para]) -> tuple[str, list[Hint]]:
    """Join blocks with blank lines; turn regions, headings and breaks into hints."""
    parts: list[str] = []
    hints: list[Hint] = []
    pos = 0
    last_region: Region | None = None
    for p in paras:
        if parts:
            pos += 2
        start, end = pos, pos + len(p.text)
        parts.append(p.text)
        pos = end
        if p.region is not None:
            if p.region is last_region:
                hints[-1].end = end
            else:
                hints.append(Hint(p.region.kind, start, end, label=p.region.label))
        elif p.heading:
            hints.append(Hint("heading", start, end, level=min(max(p.heading, 1), 3)))
        elif p.brk:
            hints.append(Hint("break", start, end))
        last_region = p.region
    return "\n\n".join(parts), hints


def paras_text(paras: Iterable[Para], sep: str = "\n") -> str:
    return sep.join(p.text for p in paras)
