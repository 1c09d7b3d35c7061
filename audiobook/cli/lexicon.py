"""``audiobook lexicon``: how words are said, at every level, and hearing one."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .options import engine_option, voice_dir_option, wav_option

F = TypeVar("F", bound=Callable[..., Any])


def _story_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--story",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=what,
    )


_STORY_IN_FORCE = "The story whose own entries (and narration voice) to use."


@click.group()
def lexicon() -> None:
    """Pronunciations: WORD = respelling, or WORD = [[ phonemes ]] (Piper's phonemes).

    Three levels, each overriding the one before: built-in, yours (lexicon.toml or
    lexicon.txt in the user config folder) and a story's own (in its sidecar). A
    lower-case word matches in any case, a capitalised one only as written.
    """


@lexicon.command("add")
@click.argument("word")
@click.argument("said", metavar="RESPELLING")
@_story_option("Save the entry in this story's sidecar instead of your own lexicon.")
def lexicon_add(word: str, said: str, story: Path | None) -> None:
    """Say WORD as RESPELLING ("Kal El") or as phonemes ("[[ kˈæl ˈɛl ]]")."""
    from audiobook.review import set_story_pronunciation
    from audiobook.text.lexicon import add_user_entry, clean_entry

    word, said = clean_entry(word, said)
    if story is not None:
        dest = set_story_pronunciation(story, word, said)
    else:
        dest = add_user_entry(word, said)
    click.echo(f"{word} = {said}  ({dest})")


@lexicon.command("list")
@_story_option(_STORY_IN_FORCE)
@click.option("--unusual", is_flag=True, help="Also list the story's unusual words.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
def lexicon_list(story: Path | None, unusual: bool, as_json: bool) -> None:
    """List every entry in force, with its level (built-in, user, story)."""
    from audiobook.text.lexicon import full_lexicon, story_lexicon, unusual_words

    if unusual and story is None:
        raise click.UsageError("--unusual needs --story STORY")
    lex = story_lexicon(story) if story is not None else full_lexicon()
    entries = [{"word": e.word, "said": e.said, "level": e.level} for e in lex]
    words: list[dict[str, Any]] = []
    if unusual and story is not None:
        from audiobook.analyze import analyze

        words = [
            {"word": u.word, "count": u.count, "said": u.entry.said if u.entry else None}
            for u in unusual_words(analyze(story), lex)
        ]
    if as_json:
        click.echo(json.dumps({"entries": entries, "unusual": words}, ensure_ascii=False))
        return
    for e in entries:
        click.echo(f"{e['word']} = {e['said']}  [{e['level']}]")
    if unusual:
        click.echo(f"\nUnusual words in {story} (not in the English word list), most used first:")
        for w in words:
            said = f" = {w['said']}" if w["said"] else ""
            click.echo(f"{w['count']:>5}  {w['word']}{said}")


@lexicon.command("test")
@click.argument("word")
@_story_option(_STORY_IN_FORCE)
@wav_option("WORD")
@voice_dir_option
@engine_option("for tests")
def lexicon_test(
    word: str, story: Path | None, out: Path | None, voice_dirs: tuple[Path, ...], engine: str
) -> None:
    """Say WORD (or a phrase) with the narration voice into a WAV, as a render would."""
    from audiobook.preview import speak_word

    dest = out or Path(re.sub(r"[^\w.-]+", "_", word).strip("_") + ".wav")
    said, voice, seconds = speak_word(word, dest, story=story, voice_dirs=voice_dirs, engine=engine)
    click.echo(f"{word} -> {said}  ({voice.name}, {seconds:.1f} s) -> {dest}")
