"""``audiobook cache info|clear|prune``: what the segment audio cache holds, and
emptying or shrinking it. Only segment audio is touched; measured voice levels and
previews kept beside it, and the voice models prepared for speed (see fastmodel), are
left alone (info reports the last)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from audiobook.fastmodel import models_dir
from audiobook.synth.cache import (
    CACHE_MAX_ENV,
    DEFAULT_CACHE_MAX_MB,
    AudioCache,
    CacheStats,
    cache_max_bytes,
    default_cache_dir,
)

MB = 1024 * 1024
# Standard quality: 22.05 kHz int16 mono, ~159 MB an hour (other rates differ).
_BYTES_PER_HOUR = 22050 * 2 * 3600


@dataclass
class CacheInfo:
    folder: Path
    stats: CacheStats
    cap_bytes: int | None
    cap_source: str  # where the cap comes from: the variable, or "default"
    models: Path | None = None  # voice models prepared for speed
    models_files: int = 0
    models_bytes: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "entries": self.stats.entries,
            "bytes": self.stats.bytes,
            "temporary_files": self.stats.parts,
            "max_bytes": self.cap_bytes,
            "least_recently_used": self.stats.oldest,
            "prepared_models": {
                "folder": None if self.models is None else str(self.models),
                "files": self.models_files,
                "bytes": self.models_bytes,
            },
        }

    def lines(self) -> list[str]:
        st = self.stats
        hours = st.bytes / _BYTES_PER_HOUR
        cap = "none" if self.cap_bytes is None else f"{self.cap_bytes / MB:.0f} MB"
        out = [
            f"folder:  {self.folder}",
            f"entries: {st.entries} lines of speech, {st.bytes / MB:.1f} MB "
            f"(~{hours:.1f} h of audio at 22 kHz)",
            f"cap:     {cap} ({self.cap_source}); least recently used go first",
        ]
        if st.oldest is not None:
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(st.oldest))
            out.append(f"oldest:  last used {used}")
        if st.parts:
            out.append(f"temporary files: {st.parts} (left by an interrupted run; prune removes)")
        if self.models is not None:
            out.append(
                f"voice models prepared for speed: {self.models_files}, "
                f"{self.models_bytes / MB:.0f} MB in {self.models} "
                "(kept by clear; clear --models removes them)"
            )
        return out


def _cache(folder: Path | None) -> AudioCache:
    return AudioCache(Path(folder) if folder is not None else default_cache_dir())


def cache_info(folder: Path | None = None) -> CacheInfo:
    cache = _cache(folder)
    raw = os.environ.get(CACHE_MAX_ENV, "").strip()
    source = f"${CACHE_MAX_ENV}" if raw else f"default {DEFAULT_CACHE_MAX_MB} MB"
    info = CacheInfo(cache.root, cache.stats(), cache_max_bytes(), source)
    info.models = models_dir()
    with contextlib.suppress(OSError):
        for f in info.models.glob("*.onnx"):
            info.models_files += 1
            info.models_bytes += f.stat().st_size
    return info


def cache_clear(folder: Path | None = None) -> tuple[int, int]:
    """Delete every cached line; returns (entries, bytes) removed."""
    return _cache(folder).clear()


def clear_models() -> tuple[int, int]:
    """Delete the voice models prepared for speed (and failure markers, leftovers);
    returns (models, bytes) removed."""
    removed = freed = 0
    with contextlib.suppress(OSError):
        for f in models_dir().iterdir():
            if f.is_file() and f.suffix in (".onnx", ".unsuitable", ".part"):
                size = f.stat().st_size
                f.unlink()
                if f.suffix == ".onnx":
                    removed += 1
                    freed += size
    return removed, freed


def cache_prune(folder: Path | None = None, max_mb: float | None = None) -> tuple[int, int]:
    """Apply the size cap now (``max_mb``, else the configured one); returns
    (entries, bytes) removed. Without any cap, only leftovers of killed runs go."""
    cap = cache_max_bytes() if max_mb is None else int(max_mb * MB)
    cache = _cache(folder)
    return cache.prune(cap if cap is not None else 1 << 62)
