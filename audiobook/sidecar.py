"""The user's decisions about one story, in ``STORY.audiobook.toml`` next to it.

The TUI writes it and batch mode reads it, so a cast reviewed once is honoured by every
later render. It is plain TOML a person can edit; unknown keys are kept on rewrite.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from .errors import CastError
from .fsutil import atomic_write, held_lock, read_regular
from .model import Character, Gender
from .schema import REQUIRED as _REQUIRED
from .schema import Reader

SUFFIX = ".audiobook.toml"
HEADER = (
    "# audiobook: your decisions for this story (cast, voices, speaker fixes, pronunciations).\n"
    "# Edit freely; `audiobook make` and `audiobook tui` both respect it.\n"
)


@dataclass
class SpeakerFix:
    """A line the user gave to a speaker; ``text`` re-anchors it if offsets move."""

    start: int
    end: int
    speaker: str | None
    text: str = ""


@dataclass
class Sidecar:
    path: Path
    title: str | None = None
    author: str | None = None
    narrator_voice: str | None = None
    voices: dict[str, str] = field(default_factory=dict)  # character -> voice
    roster: list[Character] | None = None  # a reviewed cast replaces discovery
    fixes: list[SpeakerFix] = field(default_factory=list)
    lexicon: dict[str, str] = field(default_factory=dict)  # word -> how to say it
    extra: dict[str, Any] = field(default_factory=dict)  # keys we don't know, kept verbatim
    # Speaking speed (Piper's length scale; 1.25 reads a quarter faster), [cast.speed]:
    # character -> speed, and the narrator's as ``narrator_speed`` in [cast].
    speeds: dict[str, float] = field(default_factory=dict)
    narrator_speed: float | None = None

    @property
    def exists(self) -> bool:
        return self.path.exists()


def sidecar_path(story: Path) -> Path:
    return story.with_name(story.name + SUFFIX)


MAX_SIDECAR_BYTES = 64 * 2**20  # far above any real story's decisions
GENDERS: tuple[Gender, ...] = ("female", "male", "unknown")


def _character(item: Reader) -> Character:
    return Character(
        name=item.text("name", _REQUIRED, max_len=500) or _empty_name(item),
        aliases=item.text_list("aliases"),
        gender=item.choice("gender", GENDERS, "unknown"),
        narrator=item.flag("narrator"),
    )


def _empty_name(item: Reader) -> str:
    raise item.fail("name", "a non-empty name", "")


def parse_roster(items: object, where: Path) -> list[Character]:
    """``[{"name", "aliases", "gender"}]`` as the TUI saves it (also ``--characters``)."""
    return [
        _character(r) for r in Reader({"characters": items}, where, CastError).items("characters")
    ]


def _fix(item: Reader) -> SpeakerFix:
    start = item.integer("start", lo=0, hi=None)
    return SpeakerFix(
        start,
        item.integer("end", lo=start, hi=None),
        item.text("speaker", "", max_len=500) or None,
        item.text("text", ""),
    )


SPEEDS = (0.5, 2.0)  # beyond these Piper's speech stops sounding like reading


def load_sidecar(story: Path) -> Sidecar:
    """The sidecar of ``story`` (empty if there is none). Every value is checked: a
    wrong one is a ``CastError`` naming the key, and the file is then never rewritten
    (the render stops before saving)."""
    path = sidecar_path(story)
    sc = Sidecar(path=path)
    if not path.exists():
        return sc
    raw = read_regular(path, limit=MAX_SIDECAR_BYTES, follow=True)
    if raw is None:
        raise CastError("cannot read sidecar (not a regular file, or too large)", path)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise CastError(f"cannot read sidecar ({e.__class__.__name__})", path) from e
    except tomllib.TOMLDecodeError as e:
        raise CastError(f"invalid TOML: {e}", path) from e
    r = Reader(data, path, CastError)
    book, cast = r.table("book"), r.table("cast")
    sc.title, sc.author = book.text("title", max_len=1000), book.text("author", max_len=1000)
    sc.narrator_voice = cast.text("narrator", max_len=500)
    sc.voices = cast.text_map("characters", max_len=500)
    speeds = cast.table("speed")
    sc.speeds = {k: speeds.number(k, lo=SPEEDS[0], hi=SPEEDS[1]) for k in speeds.data}
    sc.narrator_speed = cast.number("narrator_speed", None, lo=SPEEDS[0], hi=SPEEDS[1])
    if "characters" in data:
        sc.roster = [_character(item) for item in r.items("characters")]
    sc.fixes = [_fix(item) for item in r.items("speakers")]
    sc.lexicon = r.text_map("lexicon")
    sc.extra = {k: v for k, v in data.items() if k not in OWN_KEYS}
    return sc


# Top-level keys this module reads and writes; every other key is the user's (or a
# newer version's) and is written back as it was.
OWN_KEYS = frozenset({"version", "book", "cast", "characters", "speakers", "lexicon"})


def save_sidecar(sc: Sidecar) -> None:
    """Write atomically, so a crash never leaves a half-written decisions file; the
    user's comments, layout and unknown keys are kept."""
    data: dict[str, Any] = {"version": 1}
    book = {k: v for k, v in (("title", sc.title), ("author", sc.author)) if v}
    if book:
        data["book"] = book
    cast: dict[str, Any] = {}
    if sc.narrator_voice:
        cast["narrator"] = sc.narrator_voice
    if sc.voices:
        cast["characters"] = dict(sorted(sc.voices.items()))
    if sc.narrator_speed is not None:
        cast["narrator_speed"] = sc.narrator_speed
    if sc.speeds:
        cast["speed"] = dict(sorted(sc.speeds.items()))
    data["cast"] = cast
    if sc.roster is not None:
        data["characters"] = [
            {"name": c.name, "aliases": c.aliases, "gender": c.gender}
            | ({"narrator": True} if c.narrator else {})
            for c in sc.roster
        ]
    if sc.fixes:
        data["speakers"] = [
            {"start": f.start, "end": f.end, "speaker": f.speaker or "", "text": f.text}
            for f in sc.fixes
        ]
    if sc.lexicon:
        data["lexicon"] = dict(sorted(sc.lexicon.items(), key=lambda kv: kv[0].casefold()))
    for key, value in sc.extra.items():  # what we write ourselves wins over a stale copy
        data.setdefault(key, value)
    atomic_write(sc.path, _document(sc.path, data), error=CastError, what="cannot write sidecar")


def _document(path: Path, data: dict[str, Any]) -> str:
    """``data`` as TOML, laid over the file as it is on disk so its comments and order
    survive; a new file starts with the explanatory header."""
    raw = read_regular(path, limit=MAX_SIDECAR_BYTES, follow=True)
    doc: tomlkit.TOMLDocument | None = None
    if raw is not None:
        try:
            doc = tomlkit.parse(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomlkit.exceptions.ParseError):
            doc = None  # load_sidecar read it a moment ago; a race: start afresh
    if doc is None:
        return HEADER + tomlkit.dumps(data)
    _merge(doc, data)
    return tomlkit.dumps(doc)


# Keys of these tables that this module writes: a user's own key beside them is kept.
# (Every other table we write, like [cast.characters] or [lexicon], is ours entirely.)
OWN_SUBKEYS: dict[str, frozenset[str]] = {
    "book": frozenset({"title", "author"}),
    "cast": frozenset({"narrator", "characters", "narrator_speed", "speed"}),
}


def _merge(
    table: MutableMapping[str, Any], data: dict[str, Any], own: frozenset[str] | None = None
) -> None:
    """Make ``table`` hold ``data``, touching only what differs (so a comment on an
    unchanged key or table stays where the user put it). A key absent from ``data``
    is removed if it is ours (``own``; None: all keys are)."""
    for key in [k for k in table if k not in data and (own is None or k in own)]:
        del table[key]
    for key, value in data.items():
        old = table.get(key)
        if isinstance(value, dict) and isinstance(old, MutableMapping):
            _merge(old, value, OWN_SUBKEYS.get(key) if own is None else None)
        elif old is None or _plain(old) != value:
            table[key] = value


def _plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


def sidecar_lock(story: Path) -> contextlib.AbstractContextManager[None]:
    """Held from loading a story's sidecar to saving it: two runs on one story must not
    each save over the other's changes. The story file itself is locked (read-only),
    so no lock file is left beside it."""
    return held_lock(Path(story), "this story's sidecar", CastError, create=False)
