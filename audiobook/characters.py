"""Who is in the story: name mentions, alias clusters, gender, a first-person narrator.

Discovery is deliberately conservative: a name becomes a character only when the text
treats it like a person (it speaks, or it carries an honorific, or it recurs as a
sentence subject). Attribution later drops characters that never speak.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

from .model import Character, Gender, Segment

HONORIFICS: dict[str, Gender] = {
    "mr": "male",
    "mister": "male",
    "sir": "male",
    "lord": "male",
    "master": "male",
    "uncle": "male",
    "father": "male",
    "brother": "male",
    "king": "male",
    "prince": "male",
    "duke": "male",
    "count": "male",
    "baron": "male",
    "monsieur": "male",
    "herr": "male",
    "mrs": "female",
    "miss": "female",
    "ms": "female",
    "lady": "female",
    "madam": "female",
    "madame": "female",
    "aunt": "female",
    "mother": "female",
    "sister": "female",
    "queen": "female",
    "princess": "female",
    "duchess": "female",
    "countess": "female",
    "mademoiselle": "female",
    "mlle": "female",
    "mme": "female",
    "dame": "female",
    "dr": "unknown",
    "doctor": "unknown",
    "captain": "unknown",
    "professor": "unknown",
    "colonel": "unknown",
    "major": "unknown",
    "general": "unknown",
    "lieutenant": "unknown",
    "sergeant": "unknown",
    "inspector": "unknown",
    "detective": "unknown",
    "judge": "unknown",
    "officer": "unknown",
    "agent": "unknown",
    "reverend": "unknown",
}
_HON_RE = "|".join(sorted((re.escape(h.strip()) for h in HONORIFICS), key=len, reverse=True))
_WORD = r"[A-Z][a-zA-Z'’\-]*[a-zA-Z]|[A-Z]"
# A name: optional honorific, then one to three capitalised words ("Mrs. Bennet",
# "Tobias Hale", "Kal-El"). Lowercase particles ("de", "van") are left out on purpose.
NAME_RE = re.compile(
    rf"\b(?:(?:{_HON_RE.title()}|{_HON_RE.upper()})\.?\s+)?(?:{_WORD})(?:\s+(?:{_WORD})){{0,2}}\b"
)

# Capitalised words that are never names on their own, whatever the text does.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "but",
        "or",
        "nor",
        "so",
        "yet",
        "for",
        "if",
        "then",
        "than",
        "when",
        "while",
        "where",
        "what",
        "who",
        "whom",
        "whose",
        "which",
        "why",
        "how",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "he",
        "she",
        "it",
        "they",
        "we",
        "you",
        "i",
        "me",
        "him",
        "her",
        "them",
        "us",
        "my",
        "your",
        "his",
        "its",
        "our",
        "their",
        "mine",
        "yours",
        "hers",
        "ours",
        "theirs",
        "myself",
        "yourself",
        "himself",
        "herself",
        "itself",
        "ourselves",
        "themselves",
        "yes",
        "no",
        "not",
        "oh",
        "ah",
        "well",
        "now",
        "just",
        "only",
        "even",
        "still",
        "all",
        "some",
        "any",
        "every",
        "each",
        "both",
        "either",
        "neither",
        "none",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "first",
        "second",
        "third",
        "last",
        "next",
        "chapter",
        "part",
        "book",
        "prologue",
        "epilogue",
        "volume",
        "scene",
        "section",
        "act",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "god",
        "heaven",
        "hell",
        "christmas",
        "easter",
        "english",
        "french",
        "german",
        "american",
        "british",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "sir",
        "lady",
        "lord",
        "at",
        "in",
        "on",
        "of",
        "to",
        "from",
        "by",
        "with",
        "without",
        "into",
        "onto",
        "upon",
        "after",
        "before",
        "again",
        "once",
        "perhaps",
        "maybe",
        "surely",
        "indeed",
        "though",
        "although",
        "because",
        "since",
        "until",
        "unless",
        "as",
        "like",
        "dear",
        "poor",
        "good",
        "great",
        "old",
        "young",
        "little",
        "said",
        "says",
        "say",
        "tell",
        "told",
        "ask",
        "asked",
        "please",
        "thank",
        "thanks",
        "okay",
        "ok",
        "hey",
        "hello",
        "goodbye",
        "sorry",
        "do",
        "does",
        "did",
        "don't",
        "can",
        "can't",
        "will",
        "won't",
        "would",
        "should",
        "could",
    ]
)

PRONOUN_GENDER: dict[str, Gender] = {
    "he": "male",
    "him": "male",
    "his": "male",
    "she": "female",
    "her": "female",
    "hers": "female",
}


@cache
def _word_list(name: str) -> frozenset[str]:
    raw = files("audiobook").joinpath("data", name).read_text(encoding="utf-8")
    return frozenset(
        w for line in raw.splitlines() if not line.startswith("#") for w in line.split()
    )


def first_name_gender(word: str) -> Gender:
    w = word.lower()
    female, male = w in _word_list("names_female.txt"), w in _word_list("names_male.txt")
    if female != male:
        return "female" if female else "male"
    return "unknown"


def split_honorific(surface: str) -> tuple[str | None, list[str]]:
    """``"Mrs. Bennet"`` -> ``("mrs", ["Bennet"])``."""
    words = surface.replace(".", ". ").split()
    words = [w.rstrip(".") for w in words if w.rstrip(".")]
    if len(words) > 1 and words[0].lower() in HONORIFICS:
        return words[0].lower(), words[1:]
    return None, words


def norm(name: str) -> str:
    return " ".join(name.lower().replace("’", "'").replace(".", " ").split())


@dataclass
class Mention:
    start: int
    end: int
    surface: str


@dataclass
class Cluster:
    """A character under construction: every surface form seen for it, with counts."""

    forms: Counter[str] = field(default_factory=Counter)
    gender_votes: Counter[str] = field(default_factory=Counter)
    honorific_gender: Gender = "unknown"

    @property
    def name(self) -> str:
        # The most frequent multi-word form reads best ("Tobias Hale" over "Tobias").
        multi = [f for f in self.forms if len(f.split()) > 1]
        pool = multi or list(self.forms)
        return max(pool, key=lambda f: (self.forms[f], len(f), f))


def name_mentions(
    text: str, spans: Iterable[tuple[int, int]], lowercase_words: set[str]
) -> list[Mention]:
    """Capitalised name-like phrases inside ``spans`` (narration), minus ordinary words.

    A capitalised word whose lowercase form the text also uses ("Below", "Later") is
    an ordinary word at a sentence start, not a name.
    """
    out: list[Mention] = []
    for s, e in spans:
        for m in NAME_RE.finditer(text, s, e):
            hon, words = split_honorific(re.sub(r"['’]s?$", "", m.group()))
            while words and (words[0].lower() in STOPWORDS or words[0].lower() in lowercase_words):
                if hon is not None:
                    break
                words = words[1:]
            while words and (words[-1].lower() in STOPWORDS):
                words = words[:-1]
            if not words:
                continue
            if hon is None and len(words) == 1 and words[0].lower() in lowercase_words:
                continue
            surface = " ".join(
                ([hon.title() + "."] if hon and len(hon) <= 4 else [hon.title()] if hon else [])
                + words
            )
            out.append(Mention(m.start(), m.end(), surface))
    return out


def lowercase_vocabulary(text: str) -> set[str]:
    return set(re.findall(r"\b[a-z][a-z'’\-]*\b", text))


def cluster_names(counts: Counter[str]) -> list[Cluster]:
    """Group surface forms into characters: full names first, then first names,
    surnames and honorific forms join the one full name they fit (ambiguous ones stay
    on their own)."""
    clusters: list[Cluster] = []
    by_form: dict[str, Cluster] = {}
    # Longest forms first so "Tobias Hale" exists before "Tobias" looks for a home.
    for form in sorted(counts, key=lambda f: (-len(split_honorific(f)[1]), -counts[f], f)):
        hon, words = split_honorific(form)
        home: Cluster | None = None
        if len(words) == 1 or hon:
            fits = []
            for c in clusters:
                for other in c.forms:
                    ohon, owords = split_honorific(other)
                    if len(owords) < 2 and not (hon and not ohon and owords == words):
                        continue
                    if hon:
                        hg = HONORIFICS.get(hon, "unknown")
                        og = HONORIFICS.get(ohon or "", "unknown")
                        if (
                            ohon
                            and ohon != hon
                            and hg != "unknown"
                            and og != "unknown"
                            and hg != og
                        ):
                            continue
                        if (
                            hon
                            and ohon
                            and ohon != hon
                            and hon in ("mrs", "miss")
                            and ohon in ("mrs", "miss")
                        ):
                            continue
                        if owords[-1] == words[-1] and (len(words) == 1 or owords[0] == words[0]):
                            fits.append(c)
                            break
                    elif words[0] in (owords[0], owords[-1]):
                        fits.append(c)
                        break
            if len(fits) == 1:
                home = fits[0]
        if home is None:
            home = Cluster()
            clusters.append(home)
            if hon:
                home.honorific_gender = HONORIFICS.get(hon, "unknown")
        home.forms[form] += counts[form]
        by_form[form] = home
    return clusters


def cluster_gender(cluster: Cluster) -> Gender:
    if cluster.honorific_gender != "unknown":
        return cluster.honorific_gender
    for form in cluster.forms:
        hon, _ = split_honorific(form)
        if hon and HONORIFICS.get(hon, "unknown") != "unknown":
            return HONORIFICS[hon]
    votes = cluster.gender_votes
    for form in sorted(cluster.forms, key=lambda f: -cluster.forms[f]):
        g = first_name_gender(split_honorific(form)[1][0])
        if g != "unknown":
            votes[g] += 3
            break
    if votes["male"] > votes["female"]:
        return "male"
    if votes["female"] > votes["male"]:
        return "female"
    return "unknown"


def first_person_narrator(text: str, narration: Sequence[Segment]) -> bool:
    """A story told in the first person uses "I" and "my" in its narration, not only in
    quotes; a handful of uses per thousand words is enough to tell."""
    words = first = 0
    for seg in narration:
        toks = re.findall(r"[A-Za-z']+", seg.text)
        words += len(toks)
        first += sum(1 for t in toks if t in ("I", "my", "My", "me", "I'm", "I'd", "I'll", "I've"))
    return first >= 3 and first >= 0.004 * max(words, 1)


class NameIndex:
    """Maps a mention (a surface form) to a character name, by normalised alias."""

    def __init__(self, characters: Sequence[Character]) -> None:
        self.characters = list(characters)
        self._ix: dict[str, set[str]] = defaultdict(set)
        for c in characters:
            for form in [c.name, *c.aliases]:
                self._ix[norm(form)].add(c.name)
        # Unique first names and surnames of multi-word names resolve too.
        parts: dict[str, set[str]] = defaultdict(set)
        for c in characters:
            for form in [c.name, *c.aliases]:
                hon, words = split_honorific(form)
                if len(words) > 1 and not hon:
                    parts[norm(words[0])].add(c.name)
                    parts[norm(words[-1])].add(c.name)
        for key, names in parts.items():
            if key not in self._ix and len(names) == 1:
                self._ix[key] = names

    def resolve(self, surface: str) -> str | None:
        names = self._ix.get(norm(surface))
        if names and len(names) == 1:
            return next(iter(names))
        hon, words = split_honorific(surface)
        if hon and words:
            names = self._ix.get(norm(" ".join(words)))
            if names and len(names) == 1:
                return next(iter(names))
        return None

    def gender(self, name: str) -> Gender:
        for c in self.characters:
            if c.name == name:
                return c.gender
        return "unknown"
