"""FanFiction.Net story pages: the story is ``#storytext``; the rest of the page (the
profile box, chapter menus, review form, site footer) is the archive's, not the story's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

from audiobook.model import BookMeta

from .markup import text_of

# "Rated: Fiction T - English - Romance/Drama - [Harry P., Ginny W.] Ron W. - Words: 1,234"
_RATED = re.compile(r"Rated:\s*(?:Fiction\s+)?(K\+?|T|M|MA)\b", re.I)
_PAIRING = re.compile(r"\[([^\]]+)\]")
_SUMMARY_MAX = 2000


@dataclass
class FfnStory:
    root: Tag
    meta: BookMeta


def analyse(soup: BeautifulSoup) -> FfnStory | None:
    """The story text and what the profile box says, or None if this is no FFN page."""
    story = soup.find(id="storytext")
    profile = soup.find(id="profile_top")
    if not isinstance(story, Tag) or not isinstance(profile, Tag):
        return None
    meta = BookMeta()
    title = profile.find("b")
    meta.title = (text_of(title) or None) if isinstance(title, Tag) else None
    author = profile.find("a", href=re.compile(r"^(?:https?://[^/]+)?/u/\d+"))
    meta.author = (text_of(author) or None) if isinstance(author, Tag) else None
    for div in profile.find_all("div", recursive=False):
        text = text_of(div)
        if text and len(text) <= _SUMMARY_MAX and not div.find(["button", "img"]):
            meta.description = text
            break
    gray = profile.find("span", class_="xgray")
    facts = text_of(gray) if isinstance(gray, Tag) else ""
    rated = _RATED.search(facts)
    meta.rating = rated.group(1).upper() if rated else None
    pairing = _PAIRING.search(facts)
    meta.pairing = pairing.group(1).strip() if pairing else None
    crumbs = soup.find(id="pre_story_links")
    links = crumbs.find_all("a") if isinstance(crumbs, Tag) else []
    meta.fandom = (text_of(links[-1]) or None) if links else None
    return FfnStory(root=story, meta=meta)
