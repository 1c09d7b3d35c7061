"""``audiobook voices``: list, hear and install voices."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .options import engine_option, json_option, voice_dir_option, wav_option


@click.group(invoke_without_command=True)
@json_option
@voice_dir_option
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
@json_option
@voice_dir_option
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
@wav_option("VOICE")
@voice_dir_option
@engine_option("for tests")
def voices_preview(
    voice_name: str, text: str, out: Path | None, voice_dirs: tuple[Path, ...], engine: str
) -> None:
    """Speak TEXT with VOICE into a WAV file, levelled as in a render."""
    from audiobook.preview import speak_as

    dest = out or Path(voice_name.replace("#", "_").replace("/", "_") + ".wav")
    voice, seconds = speak_as(
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
