"""Command line: ``audiobook make``, ``audiobook script``, ``audiobook voices``.

The CLI only adapts: it parses options, calls the core, and turns an ``AudiobookError``
into one line on stderr and an exit status (0 all done, 1 some input failed, 2 usage,
130 interrupted). Heavy modules are imported inside commands so ``--help`` is instant.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from audiobook import __version__
from audiobook.errors import AudiobookError, printable

F = TypeVar("F", bound=Callable[..., Any])


def _fail(err: AudiobookError) -> None:
    click.echo(f"audiobook: error: {err}", err=True)


def _warn(text: str) -> None:
    click.echo(f"audiobook: warning: {printable(text)}", err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager stopping us, `kill`): handled exactly like Ctrl-C, so
    temporary files are removed and finished work is kept."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def errors_to_exit(fn: F) -> F:
    """No traceback for anything the user can cause; Ctrl-C and SIGTERM keep finished
    work (exit 130 and 143)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return fn(*args, **kwargs)
        except AudiobookError as e:
            _fail(e)
            sys.exit(1)
        except KeyboardInterrupt as e:
            how = "stopped (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
            click.echo(f"\naudiobook: {how}; finished work is kept, run again to resume", err=True)
            sys.exit(143 if isinstance(e, Terminated) else 130)

    return wrapper  # type: ignore[return-value]


ROSTER_MAX_BYTES = 16 * 2**20
JOBS_PER_CORE = 4  # more workers than this only add memory and switching, never speed


def _jobs(jobs: int | None) -> int:
    """--jobs, or the number of cores; capped at JOBS_PER_CORE x cores with a warning."""
    cores = os.cpu_count() or 1
    if jobs is None:
        return cores
    if jobs > JOBS_PER_CORE * cores:
        _warn(
            f"--jobs {jobs} is more than {JOBS_PER_CORE}x the {cores} cores; "
            f"using {JOBS_PER_CORE * cores}"
        )
        return JOBS_PER_CORE * cores
    return jobs


class _StoryGroup(click.Group):
    """``audiobook STORY`` is short for ``audiobook tui STORY``: a first argument that is
    not a command but an existing path opens the TUI on it."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and Path(args[0]).exists():
            args = ["tui", *args]
        return super().resolve_command(ctx, args)


@click.group(
    cls=_StoryGroup,
    subcommand_metavar="COMMAND [ARGS]... | STORY",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="audiobook")
def main() -> None:
    """Turn stories (.txt, .md, AO3 .html, .epub) into multi-voice audiobooks, offline."""


@main.command()
# readable=False: an unreadable story is that story's error (exit 1, the rest are
# rendered), not a usage error that stops the whole batch.
@click.argument("stories", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Output folder (Author/Title/NN - Chapter.mp3 inside).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Synthesis worker processes [default: number of cores].",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Segment audio cache [default: $AUDIOBOOK_CACHE_DIR or the user cache dir].",
)
@click.option(
    "--voice-dir",
    "voice_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra folder of Piper voices (.onnx + .onnx.json); repeatable.",
)
@click.option(
    "--read-front-matter",
    is_flag=True,
    help="Also read summaries, author's notes and disclaimers aloud.",
)
@click.option(
    "--engine",
    type=click.Choice(["piper", "tone"]),
    default="piper",
    show_default=True,
    help="'tone' is a silent-fast stand-in for dry runs and tests.",
)
@click.option(
    "--quality",
    type=click.Choice(["standard", "high"]),
    default="standard",
    show_default=True,
    help="standard: 22.05 kHz 64 kbps (listening); high: 44.1 kHz 192 kbps CBR (store level).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mp3", "m4b", "epub"]),
    default="mp3",
    show_default=True,
    help="mp3: a file per chapter; m4b: one file per book with chapter markers; "
    "epub: the mp3 files and a read-along EPUB of them.",
)
@click.option(
    "--readalong",
    is_flag=True,
    help="Also make a read-along EPUB 3 (text highlighted as the audio reads it).",
)
@click.option(
    "--cover",
    "cover",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Cover image (JPEG/PNG/...) [default: the story's own, else a generated one].",
)
@click.option("--series", default=None, help="Series name (a Series folder and tag).")
@click.option("--series-part", default=None, help="Number of the book in its series.")
@click.option(  # issue 9
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT|local[:N]",
    help="Synthesise on a Dask cluster: its scheduler, or local:N worker processes here.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.option(
    "--speed",
    "reading_speed",
    type=click.FloatRange(0.8, 1.5),
    default=1.0,
    show_default=True,
    help="Reading speed of every voice (1.25: a quarter faster), times the sidecar's own.",
)
@errors_to_exit
def make(
    stories: tuple[Path, ...],
    out_dir: Path,
    jobs: int | None,
    cache_dir: Path | None,
    voice_dirs: tuple[Path, ...],
    read_front_matter: bool,
    engine: str,
    quality: str,
    fmt: str,
    readalong: bool,
    cover: Path | None,
    series: str | None,
    series_part: str | None,
    scheduler: str | None,
    debug: bool,
    reading_speed: float,
) -> None:
    """Render STORIES (files or folders, searched recursively) into tagged chapter MP3s
    (or one M4B per book), with cover, description and synced subtitles."""
    jobs = _jobs(jobs)
    if scheduler is None and jobs > 1:
        from audiobook.helpers import start_helpers

        # First thing: the fork server imports the engine and loads the bundled voice
        # while this process imports the rest and reads the stories.
        start_helpers(engine)
    from audiobook.cover import read_cover_file
    from audiobook.load import find_stories
    from audiobook.progress import StderrBar, fmt_duration
    from audiobook.render import RenderOptions, render

    if readalong and fmt == "m4b":
        raise click.UsageError("--readalong needs the chapter files: use --format mp3 or epub")
    if cover is not None:
        try:
            read_cover_file(cover)  # a bad image is a usage error, found before any work
        except AudiobookError as e:
            raise click.BadParameter(e.message, param_hint="--cover") from None
    paths, missing = find_stories(stories, exclude=[out_dir])
    for err in missing:
        _fail(err)
    if not paths and not missing:
        where = ", ".join(printable(s) for s in stories)
        raise click.UsageError(f"no stories found in {where} (.txt, .md, .html, .htm, .epub)")
    if scheduler is not None:  # issue 9: reach the cluster (or start one) before any work
        from audiobook.cluster import connect

        try:
            connect(scheduler)
        except AudiobookError as e:
            _fail(e)
            sys.exit(2)
    opts = RenderOptions(
        out_dir=out_dir,
        jobs=jobs,
        cache_dir=cache_dir,
        engine=engine,
        read_front_matter=read_front_matter,
        voice_dirs=voice_dirs,
        quality=quality,
        format=fmt,
        readalong=readalong,
        cover=cover,
        series=series,
        series_part=series_part,
        scheduler=scheduler,
        speed=reading_speed,
    )
    bar = StderrBar()

    def on_error(path: Path, err: AudiobookError) -> None:
        bar.finish()
        _fail(err)
        if debug and err.__cause__ is not None:
            import traceback

            click.echo("".join(traceback.format_exception(err.__cause__)), err=True, nl=False)

    if scheduler is not None:  # issue 9: several stories at once keep a cluster busy
        from audiobook.cluster import render_library as render
    report = render(paths, opts, progress=bar, on_error=on_error)
    bar.finish()
    for book in report.books:
        click.echo(printable(f"{book.source}: {book.chapters} chapters -> {book.folder}"))
    audio = report.audio_seconds
    speed = audio / report.seconds if report.seconds > 0 else 0.0
    failed = len(report.failures) + len(missing)
    files = sum(len(b.files) for b in report.books)
    unchanged = sum(b.reused for b in report.books)
    click.echo(
        f"done: {len(report.books)} stories, {sum(b.chapters for b in report.books)} chapters, "
        f"{files} files ({unchanged} unchanged), {fmt_duration(audio)} of audio "
        f"({audio / 3600:.2f} h) in {fmt_duration(report.seconds)} wall "
        f"({speed:.1f}x real time), {report.segments} lines, {report.cache_hits} from cache, "
        f"{failed} failed",
        err=True,
    )
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("story", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the script as JSON (stable format).")
@click.option(
    "--characters",
    "roster_file",
    type=click.Path(path_type=Path),
    default=None,
    help='Reviewed cast: JSON [{"name", "aliases", "gender"}]; attribute against it.',
)
@click.option("--read-front-matter", is_flag=True, help="Treat front matter as read text.")
@errors_to_exit
def script(story: Path, as_json: bool, roster_file: Path | None, read_front_matter: bool) -> None:
    """Analyse STORY: chapters, characters, and who says each line."""
    from audiobook.analyze import analyze, script_json
    from audiobook.errors import CastError
    from audiobook.fsutil import read_regular
    from audiobook.sidecar import parse_roster

    roster = None
    if roster_file is not None:
        raw = read_regular(roster_file, limit=ROSTER_MAX_BYTES, follow=True)
        if raw is None:  # a FIFO or device would block or never end
            raise CastError("cannot read roster (not a regular file, or over 16 MB)", roster_file)
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError as e:
            raise CastError(f"cannot read roster ({e.__class__.__name__}: {e})", roster_file) from e
        roster = parse_roster(data, roster_file)
    result = analyze(story, roster=roster, read_front_matter=read_front_matter)
    if as_json:
        click.echo(json.dumps(script_json(result), ensure_ascii=False))
        return
    # Everything below comes from the story: shown escaped, one line per item.
    byline = f" by {result.meta.author}" if result.meta.author else ""
    click.echo(printable(f"{result.title}{byline}"))
    click.echo(
        printable(
            "Cast: "
            + ", ".join(f"{c.name} ({c.gender}, {c.lines} lines)" for c in result.characters)
        )
    )
    chapter = -1
    for seg in result.segments:
        if seg.chapter != chapter:
            chapter = seg.chapter
            click.echo(f"\n== {printable(result.chapters[chapter].title)} ==")
        if seg.kind == "skip":
            continue
        who = seg.speaker or "?" if seg.kind == "dialogue" else seg.kind
        text = " ".join(seg.text.split())
        click.echo(printable(f"[{who}] {text[:100]}"))


_voice_dir_option = click.option(
    "--voice-dir",
    "voice_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra folder of Piper voices (.onnx + .onnx.json); repeatable.",
)


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
@_voice_dir_option
@click.pass_context
def voices(ctx: click.Context, as_json: bool, voice_dirs: tuple[Path, ...]) -> None:
    """List installed voices and their variants; preview or install voices.

    Voices are found in ./voices, the user voice folder and --voice-dir folders. A
    voices.toml in one of them sets genders that a voice's metadata lacks:
    [gender] "en_US-libritts_r-medium#12" = "female".
    """
    ctx.obj = voice_dirs  # `voices --voice-dir D preview ...` uses D too
    if ctx.invoked_subcommand is None:
        ctx.invoke(voices_list, as_json=as_json, voice_dirs=())


def _voice_dirs(own: tuple[Path, ...]) -> tuple[Path, ...]:
    group = click.get_current_context().obj
    return tuple(group or ()) + own


@voices.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
@_voice_dir_option
@errors_to_exit
def voices_list(as_json: bool, voice_dirs: tuple[Path, ...]) -> None:
    """List installed voices and the variants made from them (the default)."""
    from audiobook.voicecmd import voice_json
    from audiobook.voices import discover_voices

    found = discover_voices(_voice_dirs(voice_dirs))
    if as_json:
        click.echo(json.dumps([voice_json(v) for v in found], indent=1))
        return
    for v in found:
        click.echo(f"{v.name:<28} {v.language:<6} {v.gender:<8} {v.source:<8} {v.description}")


@voices.command("preview")
@click.argument("voice_name", metavar="VOICE")
@click.argument("text")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="WAV file to write [default: VOICE.wav].",
)
@_voice_dir_option
@click.option(
    "--engine",
    type=click.Choice(["piper", "tone"]),
    default="piper",
    show_default=True,
    help="'tone' is a fast stand-in for tests.",
)
@errors_to_exit
def voices_preview(
    voice_name: str, text: str, out: Path | None, voice_dirs: tuple[Path, ...], engine: str
) -> None:
    """Speak TEXT with VOICE into a WAV file, levelled as in a render."""
    from audiobook.voicecmd import preview

    dest = out or Path(voice_name.replace("#", "_").replace("/", "_") + ".wav")
    voice, seconds = preview(
        voice_name, text, dest, voice_dirs=_voice_dirs(voice_dirs), engine=engine
    )
    click.echo(f"{voice.name}: {seconds:.1f} s -> {dest}")


@voices.command("install")
@click.argument("source", metavar="PATH_OR_NAME")
@click.option("--force", is_flag=True, help="Replace an installed voice of the same name.")
@click.option(
    "--to",
    "dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Voice folder to install into [default: the user voice folder].",
)
@errors_to_exit
def voices_install(source: str, force: bool, dest: Path | None) -> None:
    """Add a voice: a downloaded NAME.onnx (with NAME.onnx.json beside it), a folder of
    them, or a name like en_US-lessac-medium fetched from the Piper voices repository."""
    from audiobook.voicecmd import install

    done = install(source, dest, force=force)
    for stem in done.already:
        click.echo(f"{stem}: already installed in {done.folder}")
    names = [v.name for v in done.voices]
    shown = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
    click.echo(f"voices available: {shown}")


# --- lexicon: how to say words (issue 10) ----------------------------------------------


@main.group()
def lexicon() -> None:
    """Pronunciations: WORD = respelling, or WORD = [[ phonemes ]] (Piper's phonemes).

    Three levels, each overriding the one before: built-in, yours (lexicon.toml or
    lexicon.txt in the user config folder) and a story's own (in its sidecar). A
    lower-case word matches in any case, a capitalised one only as written.
    """


_story_option = click.option(
    "--story",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The story whose own entries (and narration voice) to use.",
)


@lexicon.command("add")
@click.argument("word")
@click.argument("said", metavar="RESPELLING")
@click.option(
    "--story",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Save the entry in this story's sidecar instead of your own lexicon.",
)
@errors_to_exit
def lexicon_add(word: str, said: str, story: Path | None) -> None:
    """Say WORD as RESPELLING ("Kal El") or as phonemes ("[[ kˈæl ˈɛl ]]")."""
    from audiobook.lexicon import add_user_entry, clean_entry
    from audiobook.sidecar import load_sidecar, save_sidecar

    word, said = clean_entry(word, said)
    if story is not None:
        sc = load_sidecar(story)
        sc.lexicon[word] = said
        save_sidecar(sc)
        dest = sc.path
    else:
        dest = add_user_entry(word, said)
    click.echo(f"{word} = {said}  ({dest})")


@lexicon.command("list")
@_story_option
@click.option("--unusual", is_flag=True, help="Also list the story's unusual words.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
@errors_to_exit
def lexicon_list(story: Path | None, unusual: bool, as_json: bool) -> None:
    """List every entry in force, with its level (built-in, user, story)."""
    from audiobook.lexicon import full_lexicon, story_lexicon, unusual_words

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
@_story_option
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="WAV file to write [default: WORD.wav].",
)
@_voice_dir_option
@click.option(
    "--engine",
    type=click.Choice(["piper", "tone"]),
    default="piper",
    show_default=True,
    help="'tone' is a fast stand-in for tests.",
)
@errors_to_exit
def lexicon_test(
    word: str, story: Path | None, out: Path | None, voice_dirs: tuple[Path, ...], engine: str
) -> None:
    """Say WORD (or a phrase) with the narration voice into a WAV, as a render would."""
    import re

    from audiobook.lexicon import speak_word

    dest = out or Path(re.sub(r"[^\w.-]+", "_", word).strip("_") + ".wav")
    said, voice, seconds = speak_word(word, dest, story=story, voice_dirs=voice_dirs, engine=engine)
    click.echo(f"{word} -> {said}  ({voice.name}, {seconds:.1f} s) -> {dest}")


_cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Segment audio cache [default: $AUDIOBOOK_CACHE_DIR or the user cache dir].",
)


@main.group("cache")
def cache_group() -> None:
    """The segment audio cache: re-renders and re-casts reuse it. Its size is capped
    by $AUDIOBOOK_CACHE_MAX_MB (default 10240; 0: no cap), least recently used first."""


@cache_group.command("info")
@_cache_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable.")
@errors_to_exit
def cache_info_cmd(cache_dir: Path | None, as_json: bool) -> None:
    """Where the cache is, what it holds and its size cap."""
    from audiobook.cachecmd import cache_info

    info = cache_info(cache_dir)
    if as_json:
        click.echo(json.dumps(info.as_json(), indent=1))
        return
    for line in info.lines():
        click.echo(line)


@cache_group.command("clear")
@_cache_dir_option
@click.option(
    "--models",
    is_flag=True,
    help="Also delete the voice models prepared for speed (each is made again on next use).",
)
@errors_to_exit
def cache_clear_cmd(cache_dir: Path | None, models: bool) -> None:
    """Delete all cached speech (the next render synthesises everything again)."""
    from audiobook.cachecmd import cache_clear, clear_models

    entries, size = cache_clear(cache_dir)
    click.echo(f"removed {entries} cached lines ({size / 2**20:.1f} MB)")
    if models:
        files, size = clear_models()
        click.echo(f"removed {files} prepared voice models ({size / 2**20:.1f} MB)")


@cache_group.command("prune")
@_cache_dir_option
@click.option(
    "--max-mb",
    type=click.FloatRange(min=0),
    default=None,
    help="Shrink to this size [default: the configured cap].",
)
@errors_to_exit
def cache_prune_cmd(cache_dir: Path | None, max_mb: float | None) -> None:
    """Shrink the cache to its cap now, least recently used lines first."""
    from audiobook.cachecmd import cache_prune

    entries, size = cache_prune(cache_dir, max_mb)
    click.echo(f"removed {entries} cached lines ({size / 2**20:.1f} MB)")


@main.command()
@click.argument("story", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Output folder for renders started from the UI.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Synthesis worker processes [default: number of cores].",
)
@click.option(
    "--voice-dir",
    "voice_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra folder of Piper voices (.onnx + .onnx.json); repeatable.",
)
@click.option(
    "--engine",
    type=click.Choice(["piper", "tone"]),
    envvar="AUDIOBOOK_ENGINE",
    default="piper",
    show_default=True,
    help="'tone' is a silent-fast stand-in for trying the UI.",
)
@errors_to_exit
def tui(
    story: Path, out_dir: Path, jobs: int | None, voice_dirs: tuple[Path, ...], engine: str
) -> None:
    """Review STORY in a terminal UI: cast, voices, who says each line; then render.

    `audiobook STORY` does the same. Every decision is saved to STORY.audiobook.toml.
    """
    from audiobook.tui.app import run_tui  # Textual is only imported here, never by the core

    jobs = None if jobs is None else _jobs(jobs)
    sys.exit(run_tui(story, engine=engine, out_dir=out_dir, jobs=jobs, voice_dirs=voice_dirs))
