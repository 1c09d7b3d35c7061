"""The user's decisions about one story, in ``STORY.audiobook.toml`` next to it.

The TUI writes it and batch mode reads it, so a cast reviewed once is honoured by every
later render. It is plain TOML a person can edit; unknown keys are kept on rewrite.
"""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .errors import CastError
from .fsutil import atomic_write, held_lock
from .model import Character, Gender

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

    @property
    def exists(self) -> bool:
        return self.path.exists()


def sidecar_path(story: Path) -> Path:
    return story.with_name(story.name + SUFFIX)


def _gender(value: object, where: Path) -> Gender:
    if value == "female" or value == "male" or value == "unknown":
        return value
    raise CastError(f"gender must be female, male or unknown, not {value!r}", where)


def parse_roster(items: object, where: Path) -> list[Character]:
    """``[{"name", "aliases", "gender"}]`` as the TUI saves it (also ``--characters``)."""
    if not isinstance(items, list):
        raise CastError("characters must be a list of {name, aliases, gender}", where)
    out: list[Character] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise CastError('each character needs a non-empty "name"', where)
        aliases = item.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise CastError(f"aliases of {item['name']!r} must be a list of strings", where)
        out.append(
            Character(
                name=item["name"],
                aliases=list(aliases),
                gender=_gender(item.get("gender", "unknown"), where),
                narrator=bool(item.get("narrator", False)),
            )
        )
    return out


def load_sidecar(story: Path) -> Sidecar:
    path = sidecar_path(story)
    sc = Sidecar(path=path)
    if not path.exists():
        return sc
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise CastError(f"cannot read sidecar ({e.__class__.__name__})", path) from e
    except tomllib.TOMLDecodeError as e:
        raise CastError(f"invalid TOML: {e}", path) from e
    book = data.pop("book", {})
    cast = data.pop("cast", {})
    if not isinstance(book, dict) or not isinstance(cast, dict):
        raise CastError("[book] and [cast] must be tables", path)
    sc.title, sc.author = book.get("title"), book.get("author")
    sc.narrator_voice = cast.get("narrator")
    voices = cast.get("characters", {})
    if not isinstance(voices, dict) or not all(isinstance(v, str) for v in voices.values()):
        raise CastError("[cast.characters] maps character names to voice names", path)
    sc.voices = dict(voices)
    if "characters" in data:
        sc.roster = parse_roster(data.pop("characters"), path)
    for fx in data.pop("speakers", []):
        try:
            sc.fixes.append(
                SpeakerFix(
                    int(fx["start"]),
                    int(fx["end"]),
                    fx.get("speaker") or None,
                    str(fx.get("text", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CastError("each [[speakers]] entry needs start, end and speaker", path) from e
    lexicon = data.pop("lexicon", {})
    if not isinstance(lexicon, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in lexicon.items()
    ):
        raise CastError('[lexicon] maps words to how to say them: WORD = "respelling"', path)
    sc.lexicon = dict(lexicon)
    data.pop("version", None)
    sc.extra = data
    return sc


def save_sidecar(sc: Sidecar) -> None:
    """Write atomically, so a crash never leaves a half-written decisions file."""
    data: dict[str, Any] = {"version": 1}
    book = {k: v for k, v in (("title", sc.title), ("author", sc.author)) if v}
    if book:
        data["book"] = book
    cast: dict[str, Any] = {}
    if sc.narrator_voice:
        cast["narrator"] = sc.narrator_voice
    if sc.voices:
        cast["characters"] = dict(sorted(sc.voices.items()))
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
    data.update(sc.extra)
    atomic_write(
        sc.path, HEADER + tomli_w.dumps(data), error=CastError, what="cannot write sidecar"
    )


def sidecar_lock(story: Path) -> contextlib.AbstractContextManager[None]:
    """Held from loading a story's sidecar to saving it: two runs on one story must not
    each save over the other's changes. The story file itself is locked (read-only),
    so no lock file is left beside it."""
    return held_lock(Path(story), "this story's sidecar", CastError, create=False)
