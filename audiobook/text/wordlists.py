"""The word lists shipped in ``audiobook/data``, each read once per process.

Several stages ask the same lists (the English words decide both what normalisation
may respell and which words are unusual; the first names give both a gender hint and
a known spelling), so they are read here and nowhere else.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def entries(name: str) -> tuple[str, ...]:
    """The non-comment, non-empty lines of ``data/<name>``, stripped."""
    raw = files("audiobook").joinpath("data", name).read_text(encoding="utf-8")
    stripped = (line.strip() for line in raw.splitlines() if not line.startswith("#"))
    return tuple(line for line in stripped if line)


@cache
def words(name: str) -> frozenset[str]:
    """Every whitespace-separated word of ``data/<name>``."""
    return frozenset(w for line in entries(name) for w in line.split())


@cache
def _english() -> tuple[frozenset[str], frozenset[str]]:
    lower: set[str] = set()
    other: set[str] = set()
    for line in entries("english_words.txt"):
        (lower if line.islower() else other).add(line)
    for name in ("names_female.txt", "names_male.txt"):
        other.update(w.capitalize() for w in words(name))
    return frozenset(lower), frozenset(other)


def english_words() -> frozenset[str]:
    """Ordinary English words, lower case (contractions with "'")."""
    return _english()[0]


def known_names() -> frozenset[str]:
    """Common names and abbreviations as written ("Agnes", "London", "FBI")."""
    return _english()[1]


def female_first_names() -> frozenset[str]:
    """Lower case, as a gender hint."""
    return words("names_female.txt")


def male_first_names() -> frozenset[str]:
    """Lower case, as a gender hint."""
    return words("names_male.txt")


def census_first_names(gender: str) -> frozenset[str]:
    """Lower case, a wider and weaker gender hint than the hand-written lists: modern
    first names ("Jonah", "Nadia") those lists never had, which says nothing about
    whether a capitalised word is a name at all."""
    return words(f"names_{gender}_census.txt")


@cache
def nicknames() -> dict[str, str]:
    """nick -> full first name ("lizzy" -> "elizabeth")."""
    out: dict[str, str] = {}
    for line in entries("nicknames.txt"):
        full, sep, nicks = line.partition("=")
        if sep:
            for n in nicks.split():
                out.setdefault(n, full.strip())
    return out
