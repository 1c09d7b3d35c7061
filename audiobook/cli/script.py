"""``audiobook script``: what the analysis found, without rendering anything."""

from __future__ import annotations

import json
from pathlib import Path

import click

from audiobook.errors import printable


@click.command()
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
def script(story: Path, as_json: bool, roster_file: Path | None, read_front_matter: bool) -> None:
    """Analyse STORY: chapters, characters, and who says each line."""
    from audiobook.analyze import analyze, script_json
    from audiobook.review import read_roster

    roster = None if roster_file is None else read_roster(roster_file)
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
