"""``audiobook cache``: see, clear and shrink the segment audio cache."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .options import cache_dir_option, json_option

MB = 2**20


@click.group("cache")
def cache_group() -> None:
    """The segment audio cache: re-renders and re-casts reuse it. Its size is capped
    by $AUDIOBOOK_CACHE_MAX_MB (default 10240; 0: no cap), least recently used first."""


@cache_group.command("info")
@cache_dir_option
@json_option
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
@cache_dir_option
@click.option(
    "--models",
    is_flag=True,
    help="Also delete the voice models prepared for speed (each is made again on next use).",
)
def cache_clear_cmd(cache_dir: Path | None, models: bool) -> None:
    """Delete all cached speech (the next render synthesises everything again)."""
    from audiobook.cachecmd import cache_clear, clear_models

    entries, size = cache_clear(cache_dir)
    click.echo(f"removed {entries} cached lines ({size / MB:.1f} MB)")
    if models:
        files, size = clear_models()
        click.echo(f"removed {files} prepared voice models ({size / MB:.1f} MB)")


@cache_group.command("prune")
@cache_dir_option
@click.option(
    "--max-mb",
    type=click.FloatRange(min=0),
    default=None,
    help="Shrink to this size [default: the configured cap].",
)
def cache_prune_cmd(cache_dir: Path | None, max_mb: float | None) -> None:
    """Shrink the cache to its cap now, least recently used lines first."""
    from audiobook.cachecmd import cache_prune

    entries, size = cache_prune(cache_dir, max_mb)
    click.echo(f"removed {entries} cached lines ({size / MB:.1f} MB)")
