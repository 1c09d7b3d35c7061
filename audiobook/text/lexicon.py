"""How to say the words a voice gets wrong: a pronunciation lexicon in three layers.

Built-in defaults (``data/lexicon.txt``) < the user's own (``lexicon.toml`` or
``lexicon.txt`` in the user config folder) < the story's (``[lexicon]`` in its sidecar).
An entry is ``WORD = respelling`` or ``WORD = [[ phonemes ]]`` (Piper's raw phoneme
input). An all-lower-case word matches in any case; a word with a capital matches only
exactly as written. Entries match whole words, and a possessive "'s" goes with them.

Also here: the story's *unusual* words (not in the English word list we ship), which
are the ones worth an entry.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

import tomlkit
import tomlkit.exceptions

from ..errors import CastError
from ..fsutil import atomic_write
from ..model import Script
from ..sidecar import load_sidecar
from .normalize import is_roman, substituted
from .wordlists import english_words, known_names

Level = Literal["built-in", "user", "story"]
LEVELS: tuple[Level, ...] = ("built-in", "user", "story")
CONFIG_ENV = "AUDIOBOOK_CONFIG_DIR"  # overrides the user config folder (tests, portable use)
USER_FILES = ("lexicon.toml", "lexicon.txt")

_PHONEMES = re.compile(r"\[\[\s*([^\[\]]+?)\s*\]\]")
_KEY = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?(?: [^\W_](?:[\w'’.-]*[^\W_])?)*")


@dataclass(frozen=True)
class Entry:
    word: str
    said: str  # a respelling, or "[[ phonemes ]]"
    level: Level = "story"

    @property
    def phonemes(self) -> bool:
        return self.said.startswith("[[")

    @property
    def exact(self) -> bool:
        """A word with a capital matches only as written; a lower-case one in any case."""
        return self.word != self.word.lower()


def clean_entry(word: str, said: str, where: str | Path | None = None) -> tuple[str, str]:
    """Check and tidy one entry; ``CastError`` (naming ``where``) if it cannot be used."""
    word = " ".join(word.replace("’", "'").split())
    said = " ".join(said.split())
    if not word or not _KEY.fullmatch(word):
        raise CastError(f"cannot use {word!r} as a lexicon word: letters, ' and - only", where)
    if not said:
        raise CastError(f"no pronunciation given for {word!r}", where)
    if "[[" in said or "]]" in said:
        m = _PHONEMES.fullmatch(said)
        if m is None:
            raise CastError(
                f"phonemes for {word!r} must be the whole entry, as [[ phonemes ]]", where
            )
        said = f"[[ {m.group(1)} ]]"
    elif not any(c.isalpha() for c in said):
        raise CastError(f"the respelling of {word!r} has no letters", where)
    return word, said


class Lexicon:
    """Entries from every level; for the same word a higher level wins."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        rank = {lv: i for i, lv in enumerate(LEVELS)}
        self.entries: dict[str, Entry] = {}
        for e in sorted(entries, key=lambda e: rank[e.level]):
            self.entries[e.word] = e
        self._exact = {w: e for w, e in self.entries.items() if e.exact}
        self._any = {w: e for w, e in self.entries.items() if not e.exact}
        self._rank = rank
        self._rx: re.Pattern[str] | None = None

    @classmethod
    def layered(cls, **levels: Mapping[str, str]) -> Lexicon:
        """``Lexicon.layered(**{"built-in": {...}, "user": {...}, "story": {...}})``."""
        entries = []
        for level in LEVELS:
            for word, said in levels.get(level, {}).items():
                w, s = clean_entry(word, said)
                entries.append(Entry(w, s, level))
        return cls(entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self.entries.values(), key=lambda e: e.word.casefold()))

    def lookup(self, word: str) -> Entry | None:
        """The entry that applies to ``word`` as it appears in the text."""
        word = " ".join(word.replace("’", "'").split())
        found = [e for e in (self._exact.get(word), self._any.get(word.lower())) if e]
        if not found:
            return None
        return max(found, key=lambda e: (self._rank[e.level], e.exact))

    def _regex(self) -> re.Pattern[str]:
        if self._rx is None:
            alts = []
            for e in sorted(self.entries.values(), key=lambda e: -len(e.word)):
                body = r"\s+".join(
                    re.escape(part).replace("'", "['’]") for part in e.word.split(" ")
                )
                alts.append(body if e.exact else f"(?i:{body})")
            # Whole words: no letter or digit either side, nor an apostrophe inside a
            # word ("sha'werthalen" holds no "sha"); hyphens do separate ("Sma-Smallville").
            self._rx = re.compile(
                r"(?<![^\W_])(?<![^\W_]['’])(?P<w>"
                + "|".join(alts)
                + r")(?P<pos>['’]s\b)?(?![^\W_])(?!['’][^\W_])"
            )
        return self._rx

    def apply(self, text: str) -> str:
        """``text`` with every word that has an entry replaced by how to say it."""
        if not self.entries:
            return text

        def said(m: re.Match[str]) -> str:
            entry = self.lookup(m.group("w"))
            if entry is None:
                return m.group(0)
            if not m.group("pos"):
                return entry.said
            if entry.phonemes:
                return entry.said[:-3] + "z ]]"  # the possessive inside the phonemes
            return entry.said + "'s"

        return self._regex().sub(said, text)


# --- reading and writing lexicon files ------------------------------------------------


def parse_lexicon_text(text: str, where: str | Path | None = None) -> dict[str, str]:
    """``WORD = respelling`` lines; ``#`` starts a comment line."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, eq, said = line.partition("=")
        if not eq:
            raise CastError(f"line {n}: expected WORD = how to say it", where)
        w, s = clean_entry(word.strip().strip('"'), said.strip().strip('"'), where)
        out[w] = s
    return out


def read_lexicon_file(path: Path) -> dict[str, str]:
    """A ``.toml`` (``WORD = "..."``, at the top or under ``[lexicon]``) or ``.txt`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CastError(f"cannot read lexicon ({e.__class__.__name__})", path) from e
    if path.suffix != ".toml":
        return parse_lexicon_text(text, path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CastError(f"invalid TOML: {e}", path) from e
    table = data.get("lexicon", data)
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise CastError('a lexicon maps words to how to say them: WORD = "respelling"', path)
    return dict(clean_entry(k, v, path) for k, v in table.items())


def config_dir() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("audiobook"))


def user_lexicon_paths() -> list[Path]:
    """The user's lexicon files that exist (both may; the .txt then wins)."""
    return [p for p in (config_dir() / name for name in USER_FILES) if p.is_file()]


def user_lexicon() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in user_lexicon_paths():
        out.update(read_lexicon_file(path))
    return out


@functools.cache
def builtin_lexicon() -> dict[str, str]:
    text = files("audiobook").joinpath("data", "lexicon.txt").read_text(encoding="utf-8")
    return parse_lexicon_text(text, "built-in lexicon")


@functools.cache
def _builtin() -> Lexicon:
    return Lexicon.layered(**{"built-in": builtin_lexicon()})


def default_lexicon() -> Lexicon:
    """The built-in entries alone."""
    return _builtin()


def full_lexicon(story: Mapping[str, str] | None = None) -> Lexicon:
    """Built-in, then the user's, then ``story``'s entries (a sidecar's ``lexicon``)."""
    return Lexicon.layered(
        **{"built-in": builtin_lexicon(), "user": user_lexicon(), "story": story or {}}
    )


def story_lexicon(story: Path) -> Lexicon:
    """What a render of ``story`` uses: every level, the story's own from its sidecar."""
    return full_lexicon(load_sidecar(Path(story)).lexicon)


def add_user_entry(word: str, said: str) -> Path:
    """Save an entry in the user's lexicon (its .toml if that is the file in use, else
    lexicon.txt, whose other lines and comments are kept); returns the file."""
    word, said = clean_entry(word, said)
    folder = config_dir()
    toml_path, txt_path = folder / USER_FILES[0], folder / USER_FILES[1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if toml_path.is_file() and not txt_path.is_file():
            # tomlkit: the user's comments and layout in their lexicon survive.
            data = tomlkit.parse(toml_path.read_text(encoding="utf-8"))
            table = data["lexicon"] if isinstance(data.get("lexicon"), dict) else data
            table[word] = said
            _write(toml_path, tomlkit.dumps(data))
            return toml_path
        lines = (
            txt_path.read_text(encoding="utf-8").splitlines()
            if txt_path.is_file()
            else ["# Your pronunciations: WORD = respelling, or WORD = [[ phonemes ]]."]
        )
        entry = f"{word} = {said}"
        for i, line in enumerate(lines):
            if not line.lstrip().startswith("#") and line.partition("=")[0].strip() == word:
                lines[i] = entry
                break
        else:
            lines.append(entry)
        _write(txt_path, "\n".join(lines) + "\n")
        return txt_path
    except (
        OSError,
        UnicodeDecodeError,
        tomllib.TOMLDecodeError,
        tomlkit.exceptions.TOMLKitError,
    ) as e:
        raise CastError(f"cannot save the lexicon ({e.__class__.__name__}: {e})", folder) from e


def _write(path: Path, text: str) -> None:
    atomic_write(path, text, error=CastError, what="cannot save the lexicon")


# --- the English word list and unusual words --------------------------------------------


_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _part_known(part: str) -> bool:
    low = part.lower()
    words, names = english_words(), known_names()
    return low in words or part in names or part.capitalize() in names or len(part) == 1


# A contraction is its word plus a clitic any voice says: "I'll", "Clark'd", "shouldn't've".
_CLITIC = re.compile(r"(?:'(?:ll|ve|d|m|re|s|t)|n't)$", re.IGNORECASE)
# Ordinary inflections, longest first: (ending, what the word ended with before it).
_INFLECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ies", ("y",)),
    ("ied", ("y",)),
    ("ing", ("", "e", "<")),
    ("est", ("", "e", "<")),
    ("ed", ("", "e", "<")),
    ("er", ("", "e", "<")),
    ("es", ("",)),
    ("ly", ("", "le")),
    ("s", ("",)),
    ("d", ("",)),
)


def _known(word: str) -> bool:
    words, names = english_words(), known_names()
    return word.lower() in words or word in names or word.capitalize() in names


def _inflected_known(word: str) -> bool:
    """ "tasering", "hurrying", "stopped", "bravest": a known word with a regular ending
    ("<" undoes a doubled final consonant)."""
    low = word.lower()
    for ending, befores in _INFLECTIONS:
        stem = low[: -len(ending)]
        if not low.endswith(ending) or len(stem) < 2:
            continue
        for before in befores:
            if before == "<":
                if len(stem) > 2 and stem[-1] == stem[-2] and _known(stem[:-1]):
                    return True
            elif _known(stem + before):
                return True
    return False


def is_common(word: str) -> bool:
    """Whether a voice can be trusted with ``word``: an English word or a common name
    (every part of a hyphenated word), in any case, also contracted ("I'll", "Clark's")
    or regularly inflected ("tasering")."""
    word = word.replace("’", "'")
    while (m := _CLITIC.search(word)) is not None and m.start() > 0:
        if _known(word):
            return True
        word = word[: m.start()]
    if _known(word) or _inflected_known(word):
        return True
    return all(_part_known(p) or _inflected_known(p) for p in word.split("-")) and (
        "'" not in word or all(_part_known(p) for p in word.split("'"))
    )


def _base(token: str) -> str:
    """The word a token is a form of: no possessive, no stutter ("S-smallville")."""
    token = token.replace("’", "'")
    if token.lower().endswith("'s"):
        token = token[:-2]
    parts = token.split("-")
    while (
        len(parts) > 1
        and len(parts[0]) <= 3
        and len(parts[0]) < len(parts[-1])
        and parts[1].lower().startswith(parts[0].lower())
    ):
        parts = parts[1:]
    return "-".join(parts)


@dataclass(frozen=True)
class Unusual:
    word: str  # as it is mostly written
    count: int
    entry: Entry | None  # the lexicon entry that already says it, if any


def count_unusual(texts: Iterable[str]) -> list[tuple[str, int]]:
    """Words of ``texts`` not in the English word list: (word, count), most frequent
    first, then in order of appearance."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for text in texts:
        for m in _TOKEN.finditer(text):
            word = _base(m.group(0))
            if len(word) < 2 or is_common(word) or substituted(word):
                continue
            if word.isupper() and is_roman(word):
                continue
            key = word.casefold()
            counts[key] += 1
            forms.setdefault(key, Counter())[word] += 1
    _fold_plurals(counts, forms)
    out = []
    for key, n in counts.most_common():  # stable: ties keep first appearance
        spellings = forms[key]
        # "Kal-El" over "KAL-EL": a shouted line is not how the name is written.
        best = max(spellings, key=lambda w: (not w.isupper(), spellings[w]))
        out.append((best, n))
    return out


def _fold_plurals(counts: Counter[str], forms: dict[str, Counter[str]]) -> None:
    """ "Kryptonians" is one entry with "Kryptonian": the plural of an unusual word that
    also appears is counted with it, not listed twice."""
    for key in list(counts):
        for ending in ("es", "s"):
            base = key[: -len(ending)]
            if key.endswith(ending) and base in counts and base != key:
                counts[base] += counts.pop(key)
                forms.pop(key, None)
                break


def unusual_words(
    script: Script, lexicon: Lexicon | None = None, *, read: Sequence[bool] | None = None
) -> list[Unusual]:
    """The story's words a voice may get wrong, most frequent first, with the entry
    that already covers each. ``read`` (per segment) limits it to what is read aloud."""
    texts = [
        s.text
        for i, s in enumerate(script.segments)
        if (read[i] if read is not None else s.kind != "skip")
    ]
    lex = lexicon or default_lexicon()
    return [Unusual(w, n, lex.lookup(w)) for w, n in count_unusual(texts)]
