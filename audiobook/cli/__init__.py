"""Command line: ``audiobook make``, ``audiobook script``, ``audiobook voices``...

The CLI only adapts: it parses options, calls the core, and turns an ``AudiobookError``
into one line on stderr and an exit status (0 all done, 1 some input failed, 2 usage or
nothing could start, 130 interrupted, 143 stopped). That turning happens in one place,
the group below, for every command. Heavy modules are imported inside commands so
``--help`` is instant.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from audiobook import __version__
from audiobook.errors import AudiobookError

from .cache import cache_group
from .lexicon import lexicon
from .make import make
from .options import CannotStart, say_error
from .script import script
from .tui import tui
from .voices import voices


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager stopping us, `kill`): handled exactly like Ctrl-C, so
    temporary files are removed and finished work is kept."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


class _StoryGroup(click.Group):
    """``audiobook STORY`` is short for ``audiobook tui STORY``: a first argument that is
    not a command but an existing path opens the TUI on it. Every command runs inside
    ``invoke``, so this is where anything the user can cause becomes an exit status."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and Path(args[0]).exists():
            args = ["tui", *args]
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """No traceback for anything the user can cause; Ctrl-C and SIGTERM keep
        finished work (exit 130 and 143)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return super().invoke(ctx)
        except CannotStart as e:
            say_error(e.err)
            sys.exit(2)
        except AudiobookError as e:
            say_error(e)
            sys.exit(1)
        except KeyboardInterrupt as e:
            how = "stopped (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
            click.echo(f"\naudiobook: {how}; finished work is kept, run again to resume", err=True)
            sys.exit(143 if isinstance(e, Terminated) else 130)


@click.group(
    cls=_StoryGroup,
    subcommand_metavar="COMMAND [ARGS]... | STORY",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="audiobook")
def main() -> None:
    """Turn stories (.txt, .md, AO3 .html, .epub) into multi-voice audiobooks, offline."""


for _command in (make, script, voices, lexicon, cache_group, tui):
    main.add_command(_command)
