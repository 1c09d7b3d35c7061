"""What runs a plan's synthesis: the local process pool (``local.LocalPool``) or a Dask
cluster (``dask.DaskBackend``). A render picks one and hands it every story."""

from __future__ import annotations

from typing import Protocol

from audiobook.synth.plan import Plan


class Backend(Protocol):
    def prepare(self, engine: str) -> None:
        """Get ready while the story is still being read (the local pool's fork server
        imports the engine meanwhile)."""

    def stories_at_once(self) -> int:
        """How many stories to render side by side to keep it busy."""

    def run(self, plan: Plan) -> None:
        """Make every pending line of ``plan`` and run its follow-ups; returns once all
        of them have run. Raises ``Cancelled`` when the plan's cancel is set (running
        lines finish and are cached), an ``AudiobookError`` when a line fails."""
