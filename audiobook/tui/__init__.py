"""The Textual UI: the only part of audiobook that imports Textual.

``audiobook tui STORY`` imports this lazily, so the batch CLI never pays for it.
"""

from __future__ import annotations

from .app import AudiobookApp, run_tui

__all__ = ["AudiobookApp", "run_tui"]
