"""The content-addressed audio cache: one file of segment audio per job key.

The cache is what makes renders resumable: a job's key depends only on what changes
its audio, so a re-run (or a cancelled run restarted) only synthesizes what is missing.
Every backend writes into it (a Dask worker that sees the folder too), atomically.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import time
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import platformdirs

from audiobook.errors import ExportError
from audiobook.fsutil import replacing, write_into

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    env = os.environ.get("AUDIOBOOK_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("audiobook"))


# A 12-hour novel is ~1.9 GB of cached speech at 22 kHz: the default keeps a few.
DEFAULT_CACHE_MAX_MB = 10_240
CACHE_MAX_ENV = "AUDIOBOOK_CACHE_MAX_MB"
# A ``.part`` older than this is a writer's leftover (killed mid-write), not a write
# in progress: prune removes it.
STALE_PART_SECONDS = 600.0


def cache_max_bytes() -> int | None:
    """The size cap from ``$AUDIOBOOK_CACHE_MAX_MB`` (0: no cap), else the default."""
    raw = os.environ.get(CACHE_MAX_ENV, "").strip()
    if not raw:
        return DEFAULT_CACHE_MAX_MB * 1024 * 1024
    try:
        mb = float(raw)
    except ValueError:
        log.warning("ignoring %s=%r: not a number of megabytes", CACHE_MAX_ENV, raw)
        return DEFAULT_CACHE_MAX_MB * 1024 * 1024
    return None if mb <= 0 else int(mb * 1024 * 1024)


@dataclass
class CacheStats:
    entries: int = 0
    bytes: int = 0
    parts: int = 0  # temporary files (writes in progress, or left by a killed run)
    oldest: float | None = None  # last use of the least recently used entry (epoch s)


# Entry = header + little-endian int16 samples. The header carries the rate (so
# assembly can resample) and a length + CRC so a truncated/corrupt file reads as missing.
# The CRC covers the header's own fields too: a flipped bit in the rate would otherwise
# change a book's length silently.
_MAGIC = b"ABPCM2\0\0"
_HEADER = struct.Struct("<8sIQI")  # magic, sample rate, samples, crc32 of the rest
_FIELDS = struct.Struct("<8sIQ")  # what the CRC covers before the data
# Entries of the first format (CRC of the data only) stay readable, so an upgrade does
# not throw away hours of synthesis; their rate must be one a voice really uses, and
# no single flipped bit turns one of these into another.
_MAGIC_V1 = b"ABPCM1\0\0"
_V1_RATES = frozenset({16000, 22050, 24000, 44100, 48000})


def _entry_crc(magic: bytes, rate: int, samples: int, data: bytes) -> int:
    if magic == _MAGIC_V1:
        return zlib.crc32(data)
    return zlib.crc32(data, zlib.crc32(_FIELDS.pack(magic, rate, samples)))


class AudioCache:
    """Segment audio by key, one file each; an entry's mtime is its last use, so the
    size cap evicts the least recently used audio first."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pcm"

    def _read_header(self, f: BinaryIO, size: int) -> tuple[bytes, int, int, int] | None:
        raw = f.read(_HEADER.size)
        if len(raw) != _HEADER.size:
            return None
        magic, rate, n, crc = _HEADER.unpack(raw)
        if magic == _MAGIC_V1 and rate not in _V1_RATES:
            return None
        if magic not in (_MAGIC, _MAGIC_V1) or rate <= 0 or size != _HEADER.size + 2 * n:
            return None
        return magic, int(rate), int(n), int(crc)

    def load(self, key: str) -> tuple[np.ndarray, int] | None:
        """(int16 PCM, sample rate), or None if missing, truncated or corrupt."""
        try:
            with open(self.path(key), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                header = self._read_header(f, size)
                if header is None:
                    return None
                magic, rate, n, crc = header
                data = f.read(2 * n)
        except OSError:
            return None
        if len(data) != 2 * n or _entry_crc(magic, rate, n, data) != crc:
            return None
        self.touch(key)
        return np.frombuffer(data, dtype="<i2").astype(np.int16), rate

    def get(self, key: str) -> np.ndarray | None:
        entry = self.load(key)
        return None if entry is None else entry[0]

    def sample_rate(self, key: str) -> int | None:
        try:
            with open(self.path(key), "rb") as f:
                header = self._read_header(f, os.fstat(f.fileno()).st_size)
        except OSError:
            return None
        return None if header is None else header[1]

    def has(self, key: str, *, touch: bool = False) -> bool:
        """Cheap check (header and length); ``load`` also verifies the CRC."""
        ok = self.sample_rate(key) is not None
        if ok and touch:
            self.touch(key)
        return ok

    def valid(self, key: str) -> bool:
        return self.load(key) is not None

    def touch(self, key: str) -> None:
        """Mark an entry used now (atime is unreliable: relatime/noatime mounts)."""
        with contextlib.suppress(OSError):
            os.utime(self.path(key))

    def put(self, key: str, pcm: np.ndarray, sample_rate: int) -> None:
        """Atomic: concurrent writers of the same key each write their own ``.part``."""
        data = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        n = len(data) // 2
        header = _HEADER.pack(_MAGIC, sample_rate, n, _entry_crc(_MAGIC, sample_rate, n, data))
        dest = self.path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with replacing(dest) as tmp:  # concurrent writers each have their own
                write_into(tmp, (header, data))
        except OSError as exc:  # disk full, not a folder...: one line, no traceback
            reason = exc.strerror or str(exc)
            raise ExportError(f"cannot write the audio cache ({reason})", self.root) from None

    # --- size ---------------------------------------------------------------------

    def _files(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Every entry and temporary file, with its stat (only our two-hex folders)."""
        try:
            folders = [d for d in self.root.iterdir() if len(d.name) == 2 and d.is_dir()]
        except OSError:
            return
        for folder in folders:
            try:
                names = list(os.scandir(folder))
            except OSError:
                continue
            for entry in names:
                if entry.name.endswith((".pcm", ".part")):
                    with contextlib.suppress(OSError):
                        yield Path(entry.path), entry.stat()

    def stats(self) -> CacheStats:
        st = CacheStats()
        for path, s in self._files():
            if path.suffix == ".part":
                st.parts += 1
                continue
            st.entries += 1
            st.bytes += s.st_size
            st.oldest = s.st_mtime if st.oldest is None else min(st.oldest, s.st_mtime)
        return st

    def prune(self, max_bytes: int, keep: Collection[str] = ()) -> tuple[int, int]:
        """Delete least recently used entries until the cache holds ``max_bytes`` or
        less, never one of ``keep`` (what the current render uses); also removes
        temporary files left by killed writers. Returns (entries removed, bytes freed)."""
        now = time.time()
        entries: list[tuple[float, int, Path]] = []
        total = 0
        for path, s in self._files():
            if path.suffix == ".part":
                if now - s.st_mtime > STALE_PART_SECONDS:
                    path.unlink(missing_ok=True)
                continue
            total += s.st_size
            if path.stem not in keep:
                entries.append((s.st_mtime, s.st_size, path))
        removed = freed = 0
        entries.sort()
        for _, size, path in entries:
            if total <= max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
                removed += 1
                freed += size
        if total > max_bytes:
            log.info("audio cache is over its cap: the current book alone needs more")
        return removed, freed

    def clear(self) -> tuple[int, int]:
        """Delete every entry (and temporary file); returns (entries, bytes) removed."""
        removed = freed = 0
        for path, s in self._files():
            with contextlib.suppress(OSError):
                path.unlink()
                if path.suffix == ".pcm":
                    removed += 1
                    freed += s.st_size
        with contextlib.suppress(OSError):
            for d in self.root.iterdir():
                if len(d.name) == 2 and d.is_dir():
                    with contextlib.suppress(OSError):
                        d.rmdir()  # only if empty
        return removed, freed
