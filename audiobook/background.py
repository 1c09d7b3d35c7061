"""Attribution of a long story in a process of its own.

Attributing a novel takes seconds of pure Python. In a thread it holds the GIL for all
that time, and the thread drawing the TUI gets it back only in slices: every key would
wait. A separate process keeps the UI's interpreter free. The process prepares the story
once (load, structure, segments) and then attributes it for each set of decisions it is
sent; only the speakers come back, not the text.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

from .analyze import Prepared, assemble, attribute_prepared, prepare
from .errors import AudiobookError
from .model import Character, Script
from .sidecar import Sidecar

# (kind, speaker, confidence, sieve, continued) of each segment, in order.
Speakers = list[tuple[str, str | None, float, str | None, bool]]


@dataclass(frozen=True)
class Attributed:
    speakers: Speakers
    characters: list[Character]
    unplaced: list[str]


class AnalysisProcess:
    """One attribution at a time (callers take turns); ``close`` ends the process."""

    def __init__(self, path: Path) -> None:
        ctx = multiprocessing.get_context("spawn")  # the UI has threads: no fork
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(str(path), child), daemon=True)
        self._proc.start()
        child.close()

    def attribute(self, prepared: Prepared, sc: Sidecar) -> Script:
        """What ``attribute_prepared(prepared, sc)`` returns, computed over there."""
        try:
            self._conn.send(sc)
            reply = self._conn.recv()
        except (EOFError, OSError) as e:
            raise AudiobookError(f"the analysis process stopped ({e or 'no reply'})") from e
        if isinstance(reply, BaseException):
            raise reply
        assert isinstance(reply, Attributed)
        segs = [
            replace(seg, kind=kind, speaker=who, confidence=conf, sieve=sieve, continued=cont)  # type: ignore[arg-type]
            for seg, (kind, who, conf, sieve, cont) in zip(
                prepared.segments, reply.speakers, strict=True
            )
        ]
        return assemble(prepared, sc, segs, reply.characters, reply.unplaced)

    def close(self) -> None:
        self._conn.close()
        self._proc.kill()  # mid-attribution is fine: nothing is written there
        self._proc.join(timeout=2)


def _serve(path: str, conn: Connection) -> None:
    prepared = prepare(Path(path))
    while True:
        try:
            sc = conn.recv()
        except (EOFError, OSError):
            return
        try:
            script = attribute_prepared(prepared, sc)
            speakers: Speakers = [
                (s.kind, s.speaker, s.confidence, s.sieve, s.continued) for s in script.segments
            ]
            conn.send(Attributed(speakers, script.characters, script.unplaced))
        except Exception as e:  # the caller re-raises it
            conn.send(e)
