"""What one paragraph of a posted story says about itself: a closing line, a note's
request for reviews, a link to the next part, an archive footer, a byline.

Fanfiction is posted with the author's voice around the story: "THE END", "please
send feedback", "go on to part two", "This story is archived at ...". These tests
only classify a paragraph's text; ``structure`` decides where they may apply (at the
end of a chapter, after the story), so a story sentence that happens to match in the
middle of a chapter is never touched. Any paragraph holding dialogue is story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text.sentences import ends_sentence

# Quoted words: "double" or “curly” quotes, ‘single curly’ quotes (not an apostrophe:
# the opening one follows a space or starts the text), «guillemets»; or a paragraph
# opening a quotation it does not close.
_QUOTED_RE = re.compile(
    r"[\"“„]([^\"”“]*\w[^\"”“]*)[\"”]|(?:^|(?<=\s))‘([^’]*\w[^’]*)’|«([^»]*\w[^»]*)»"
)
_OPENS_RE = re.compile(r"\A\s*[\"“‘«']\w")
# 'Straight single quotes', British style: closed by punctuation and then a space, so
# apostrophes inside ('I'll go,' he said) and after (the twins' car) do not confuse it.
_SINGLE_RE = re.compile(r"(?:^|(?<=\s))'\w.*?[,.!?…—–-]'(?=\s|$)", re.MULTILINE)
# Speech ends in punctuation inside the marks ("Run!", "Wait,") or runs to a few words;
# a word in quotes ("lantern") or a quoted title ("The Storm") is a mention.
_SPEECH_END = re.compile(r"[,.!?…—–-]\s*$")


# Decoration around a closing line: "~*~ THE END ~*~", "-- fin --", "[TBC]".
_DECOR = " \t*~_=+-–—#.!?…()[]{}<>|/\\:;,'\"“”‘’«»•·°^"
_CLOSING_RE = re.compile(
    r"(?:the\s+)?end(?:\s+(?:of\s+)?(?:the\s+)?(?:chapter|part|story|book|fic|prologue|"
    r"epilogue|section|ch|pt|volume|vol)(?:\s+\w+){0,3})?(?:\s+for\s+now)?"
    r"|(?:the\s+)?end\s*\??|fin(?:is)?|tbc|t\.b\.c|to\s+be\s+continued"
    r"|(?:to\s+be\s+)?continued\s+(?:in|next|on)\b.{0,60}",
    re.IGNORECASE | re.DOTALL,
)

# An address or an e-mail: in a short paragraph, navigation or contact, never story.
_ADDRESS_RE = re.compile(
    r"https?://|\bwww\.\w|\b[\w.+-]+@[\w-]+\.[\w.]+\b|\b\w+\.(?:com|net|org)/\S", re.IGNORECASE
)
# "Go on to the next part", "Next chapter: The Thaw", "<< Previous | Next >>": only a
# line of a few words ("The next chapter of their lives began" is story).
_NAVIGATION_RE = re.compile(
    r"^\W*(?:(?:go|click|continue|proceed|move|read)\s+(?:on\s+)?(?:onward\s+)?"
    r"(?:to|here\s+for)\s+)?(?:the\s+)?(?:next|previous|prev)\s+(?:part|chapter|story|"
    r"instal+ment|episode|page)\b(?!\s+(?:of|in)\b)"
    r"|^\W*(?:next|previous|prev|back|return)\s*(?:part|chapter)?\s*(?:[:>»|]|$)"
    r"|\b(?:return|back|go\s+back)\s+to\s+(?:the\s+)?(?:index|contents|archive|main\s+page|"
    r"story\s+index|fic\s+index|top\s+of\s+(?:the\s+)?page)\b"
    r"|\bpart\s+\w+\s+(?:is|can\s+be\s+found)\s+(?:here|at|on)\b"
    r"|\bsequel\s+(?:is\s+)?(?:here|at|posted|up)\b",
    re.IGNORECASE | re.MULTILINE,
)
_NAVIGATION_WORDS = 8

# Requests for reviews, thanks for reading, closing wishes: the author talking.
_FEEDBACK_RE = re.compile(
    r"\b(?:please|pls|plz|kindly)\b[^.!?]{0,40}\b(?:review|feedback|comment|kudos|r\s*&\s*r)"
    r"|\b(?:reviews?|feedback|comments?|kudos|concrit)(?:\s*(?:and|&|or|\+|/)\s*"
    r"(?:reviews?|feedback|comments?|kudos|concrit))?\s+(?:(?:is|are|=|would\s+be)\s+)?"
    r"(?:(?:always|very|much|greatly|really|so|most|totally)\s+)*(?:appreciated|welcome[ds]?|"
    r"loved?|adored|fuel|encouraged|wanted|cherished|treasured|please|make\s+my\s+day|"
    r"are\s+like|keeps?\s+me|feed\s+the)\b"
    r"|\bsend\s+(?:me\s+)?(?:some\s+)?(?:feedback|comments|reviews|concrit)"
    r"|\blet\s+me\s+know\s+what\s+(?:you|y'all|u)\s+(?:think|thought)"
    r"|\br\s*&\s*r\b|\bread\s+(?:and|&)\s+review\b|\breview\s*,?\s*please\b"
    r"|\bhope\s+(?:you|u|y'all|everyone)\s+(?:all\s+)?(?:enjoyed|liked|like|enjoy|had\s+fun)"
    r"\s+(?:it|this|the\s+(?:story|chapter|fic|ride)|reading)"
    r"|\bthanks?\s+(?:you\s+)?(?:so\s+much\s+|all\s+|again\s+)?(?:for\s+)?"
    r"(?:reading|the\s+reviews|your\s+reviews|all\s+the\s+(?:reviews|kudos|comments))"
    r"|\b(?:many\s+)?thanks\s+to\b[^.!?]{0,60}\b(?:beta|betas|beta-reader|reviewers|readers)\b"
    r"|\bbeta(?:'?d|ed)?\s+by\b|\buntil\s+next\s+(?:time|chapter)\b"
    r"|\bsee\s+(?:you|y'all|ya)\s+(?:all\s+)?(?:next\s+(?:time|chapter|week)|in\s+the\s+next)",
    re.IGNORECASE,
)

# What archives print under a story, and the legal lines authors add.
_FOOTER_RE = re.compile(
    r"\b(?:this|the)\s+(?:story|fic|work|fanfic)\s+(?:is\s+|was\s+)?(?:archived|posted|"
    r"hosted)\s+(?:at|on)\b"
    r"|\barchived\s+(?:at|on)\s+(?:the\s+)?\S+\s+(?:archive|fiction|site)?"
    r"|\bposted\s+(?:at|on|to)\s+(?:ao3|ff\.?net|fanfiction\.net|archive\s+of\s+our\s+own|"
    r"livejournal|lj|tumblr|dreamwidth|wattpad)\b"
    r"|\bdrop\s+by\s+the\s+archive\b|\bcomment\s+to\s+let\s+the\s+(?:creator|author)\s+know\b"
    r"|\bno\s+(?:copyright\s+)?infringement\s+(?:is\s+)?intended\b|\ball\s+rights\s+reserved\b"
    r"|©\s*\d{4}|\(c\)\s*\d{4}|\bcopyright\s+(?:©\s*)?\d{4}",
    re.IGNORECASE,
)
# A disclaimer: "I don't own" with what it is about (a story sentence "I don't own much"
# has no characters, show or money in it).
_DISCLAIMER_RE = re.compile(
    r"\b(?:i|we)\s+(?:don'?t|do\s+not|still\s+don'?t)\s+own\b|\bnot\s+(?:making|earning)\s+"
    r"(?:any\s+)?money\b|\bno\s+(?:money|profit)\s+(?:is\s+)?(?:being\s+)?made\b"
    r"|\bbelongs?\s+to\s+(?:their|its|the)\s+(?:respective\s+)?(?:owners?|creators?)\b",
    re.IGNORECASE,
)
_LEGAL_WORDS = re.compile(
    r"\b(?:characters?|rights?|show|series|franchise|property|owned|belongs?|money|profit|"
    r"copyright|creators?|owners?|universe|canon|fandom)\b",
    re.IGNORECASE,
)

# "A Smallville fanfic by Name", "a Buffy/Angel crossover by Name".
_FANDOM_BY_RE = re.compile(
    r"(?:an?\s+)?(?P<fandom>.+?)\s+(?:fan[\s-]*fic(?:tion)?s?|fics?|stor(?:y|ies)|one[\s-]*shot|"
    r"drabble|ficlet|crossover|au|songfic|vignette)\s+(?:written\s+)?by\s+(?P<author>.+)",
    re.IGNORECASE,
)
# "Title by Author" on one line.
_TITLE_BY_RE = re.compile(r"(?P<title>.+?)\s+by\s*:?\s+(?P<author>.+)", re.IGNORECASE)
_AUTHOR_RE = re.compile(r"[^\s,;!?\"“”]+(?:\s+[^\s,;!?\"“”]+){0,3}")
_WORDS = re.compile(r"\w+(?:['’]\w+)*")

# Words an author's note uses about the story and its readers.
_TEASER_RE = re.compile(
    r"\W*(?:next\s+time|coming\s+(?:up|soon)|preview|sneak\s+peek)\b[^:]{0,30}:", re.IGNORECASE
)
_AUTHORIAL = frozenset(
    "chapter chapters story stories fic fics fanfic fanfiction update updated updates "
    "review reviews reviewed reviewers reviewing readers reader reading writing wrote "
    "write written beta betas betaed plot sequel prompt prompts inspired canon fandom "
    "episode season oneshot thanks thank hope enjoyed au ooc kudos comments feedback "
    "posted post posting series installment part pairing ship muse note notes "
    # ...and to its readers: story narration rarely says "you" outside quotes.
    "you your you're you've y'all guys everyone lol omg sorry promise asap bye xoxo".split()
)


@dataclass(frozen=True)
class Byline:
    author: str
    title: str | None = None
    fandom: str | None = None


def has_dialogue(s: str) -> bool:
    """Whether ``s`` holds quoted speech: such a paragraph is story, whatever else it says."""
    if _OPENS_RE.match(s) or _SINGLE_RE.search(s):
        return True
    for m in _QUOTED_RE.finditer(s):
        inner = next(g for g in m.groups() if g is not None)
        if _SPEECH_END.search(inner) or len(inner.split()) >= 3:
            return True
    return False


def is_closing(s: str) -> bool:
    """ "THE END", "~fin~", "To be continued...", "End of Part One": the author's last word."""
    core = s.strip(_DECOR)
    return 0 < len(core) <= 80 and _CLOSING_RE.fullmatch(core) is not None


def end_kind(s: str) -> str | None:
    """The end-matter label of a paragraph that is wholly the author's, else None."""
    if has_dialogue(s):
        return None
    if is_closing(s):
        return "end"
    words = len(_WORDS.findall(s))
    if words > 80:
        return None
    if _FOOTER_RE.search(s) or (_DISCLAIMER_RE.search(s) and _LEGAL_WORDS.search(s)):
        return "footer"
    if _ADDRESS_RE.search(s) and words <= 40:
        return "link"
    if words <= _NAVIGATION_WORDS and _NAVIGATION_RE.search(s):
        return "link"
    if _FEEDBACK_RE.search(s):
        return "feedback"
    return None


def is_signoff(s: str) -> bool:
    """A short line that is no sentence: "Love, Ann", "~Sam", "xoxo", "-- A.". Only
    end matter when real end matter stands between it and the story."""
    if has_dialogue(s) or "\n" in s.strip():
        return False
    words = _WORDS.findall(s)
    return 0 < len(words) <= 4 and not ends_sentence(s)  # a signature: "Love, Ann", "~Sam"


def is_authorial(s: str) -> bool:
    """A paragraph that talks about the story or its readers, or teases the next part
    ("Next time: the thaw."), with no dialogue."""
    if has_dialogue(s):
        return False
    return _TEASER_RE.match(s) is not None or any(
        w.lower() in _AUTHORIAL for w in _WORDS.findall(s)
    )


def byline(s: str, *, top: bool = False) -> Byline | None:
    """The author (and fandom) of "A Fandom fanfic by Author"; with ``top`` (the very
    first line of the file) also "Title by Author"."""
    s = " ".join(s.split()).strip(" *_~")
    if not s or len(s) > 120 or has_dialogue(s) or s.endswith((",", ";", ":")):
        return None
    m = _FANDOM_BY_RE.fullmatch(s)
    if m is not None:
        author = _author(m.group("author"))
        fandom = m.group("fandom").strip(" ,:-")
        if author and fandom and len(fandom.split()) <= 8:
            return Byline(author, fandom=fandom)
    m = _TITLE_BY_RE.fullmatch(s) if top else None
    if m is None:
        return None
    author = _author(m.group("author"))
    title = m.group("title").strip(" ,:-")
    # "Struck by Lightning", "Touched by an Angel" are titles: a name is capitalised
    # (or a handle like "moonlit_42"), and a title with an author has three words or more.
    if not author or not title[:1].isupper() or len(title.split()) > 10:
        return None
    if len(title.split()) + len(author.split()) <= 2 or not all(map(_name_like, author.split())):
        return None
    return Byline(author, title=title)


def _name_like(word: str) -> bool:
    return word[:1].isupper() or any(not c.isalpha() for c in word)


def _author(s: str) -> str | None:
    """A few words, not the end of a sentence ("by the sea.")."""
    s = s.strip()
    if s.endswith(".") and len(s.split()[-1]) > 3:
        return None
    m = _AUTHOR_RE.fullmatch(s)
    return m.group(0).rstrip(".") if m is not None and not s.endswith("..") else None
