"""audiobook: turn stories into multi-voice, tagged chapter audiobooks, offline.

The core (everything outside ``audiobook.tui``) never imports Textual or onnxruntime at
import time, so the CLI starts fast and the TUI and batch mode share one pipeline.
"""

__version__ = "0.1.0"
