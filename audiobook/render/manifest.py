"""The book folder's record of what a render made in it (``.audiobook-render.json``),
and claiming the folder: a finished chapter file is not made again when the manifest
says it was made from the same audio, tags and settings and it is still as written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from audiobook.errors import AudiobookError, ExportError, printable
from audiobook.export import TrackTags, write_file
from audiobook.fsutil import (
    TEMP_SUFFIX,
    file_digest,
    held_lock,
    is_plain_name,
    lock_note,
    make_dirs,
    read_regular,
    safe_unlink,
)

log = logging.getLogger(__name__)
MANIFEST = ".audiobook-render.json"
MANIFEST_FORMAT = 2
MANIFEST_MAX_BYTES = 16 * 2**20  # far above any real book's; a planted huge file is ignored
LOCK_FILE = ".audiobook-render.lock"
AUDIO_SUFFIXES = (".mp3", ".m4b")  # what stale removal may delete (with its .vtt)
MAX_TWINS = 99  # folders "Title", "Title (2)"... for different stories with one title
# Part of every file's fingerprint: bump when assembly or encoding changes what a file
# sounds like (levels, pauses, limiter), so a re-run re-makes files made the old way.
OUTPUT_VERSION = "4"


def fingerprint(keys: Sequence[str], tags: TrackTags, settings: Sequence[str]) -> str:
    fields = dict(vars(tags))
    cover = fields.pop("cover", None)
    fields["cover"] = hashlib.sha256(cover).hexdigest() if cover else None
    h = hashlib.sha256()
    payload = [list(keys), list(settings), OUTPUT_VERSION, fields]
    h.update(json.dumps(payload, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


@dataclass
class Made:
    """A file this render made: what it was made from, how long it is, and the size
    and checksum of it and its subtitles (a truncated or damaged file is made again)."""

    fingerprint: str
    seconds: float
    sums: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> size, sha256


@dataclass
class Manifest:
    """The book folder's record of what we made in it, and for which story (two
    stories with one title must not take over each other's folder)."""

    source: str | None = None
    files: dict[str, Made] = field(default_factory=dict)


def _made(value: object) -> Made | None:
    if not isinstance(value, dict):
        return None
    fp, seconds, sums = value.get("fingerprint"), value.get("seconds"), value.get("sums")
    if not isinstance(fp, str) or not isinstance(seconds, int | float) or not seconds >= 0:
        return None
    checked: dict[str, tuple[int, str]] = {}
    for name, pair in (sums or {}).items() if isinstance(sums, dict) else ():
        if (
            is_plain_name(name)
            and isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], int)
            and isinstance(pair[1], str)
        ):
            checked[name] = (pair[0], pair[1])
    return Made(fp, float(seconds), checked)


def read_manifest(folder: Path) -> Manifest:
    """What an earlier render recorded; entries that are not plain file names of this
    folder are dropped (a planted manifest must not name files elsewhere)."""
    raw = read_regular(folder / MANIFEST, limit=MANIFEST_MAX_BYTES)
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Manifest()
    if data.get("format") != MANIFEST_FORMAT:  # an older render's {name: "fp:seconds"}
        # Nothing in it is verified: its files are made again, and removed if stale.
        return Manifest(None, {n: Made("", 0.0) for n in data if is_plain_name(n)})
    source = data.get("source")
    files = data.get("files")
    manifest = Manifest(source if isinstance(source, str) else None)
    for name, value in files.items() if isinstance(files, dict) else ():
        made = _made(value)
        if is_plain_name(name) and made is not None:
            manifest.files[name] = made
    return manifest


def write_manifest(folder: Path, manifest: Manifest) -> None:
    # Atomic, an ExportError on a full disk, and no .part left by Ctrl-C.
    data = {
        "format": MANIFEST_FORMAT,
        "source": manifest.source,
        "files": {
            name: {"fingerprint": m.fingerprint, "seconds": round(m.seconds, 3), "sums": m.sums}
            for name, m in manifest.files.items()
        },
    }
    write_file(folder / MANIFEST, json.dumps(data, indent=1, sort_keys=True))


def record(manifest: Manifest, dest: Path, fp: str, seconds: float) -> None:
    """Note a file just made, with the checksums that let a later run trust it."""
    sums: dict[str, tuple[int, str]] = {}
    for path in (dest, dest.with_suffix(".vtt")):
        digest = file_digest(path)
        if digest is None:  # vanished already: nothing to trust next time
            manifest.files.pop(dest.name, None)
            return
        sums[path.name] = digest
    manifest.files[dest.name] = Made(fp, seconds, sums)


def reusable(dest: Path, manifest: Manifest, fp: str) -> float | None:
    """Seconds of audio of a finished file made from the same inputs and still as it
    was written (size and checksum of it and its subtitles), else None."""
    made = manifest.files.get(dest.name)
    if made is None or made.fingerprint != fp:
        return None
    names = (dest.name, dest.with_suffix(".vtt").name)
    if any(n not in made.sums for n in names):
        return None
    for name in names:
        if file_digest(dest.with_name(name)) != made.sums[name]:
            log.info("%s changed since it was made; making it again", dest.with_name(name))
            return None
    return made.seconds


def _owned_by_another(manifest: Manifest, source: str) -> bool:
    """The folder holds the book of another story that still exists."""
    other = manifest.source
    return other is not None and other != source and Path(other).exists()


def _remove_leftovers(folder: Path) -> None:
    """Temporary files of a run that was killed (kill -9, power cut): with the book's
    lock held no other run is writing here, so every one of them is dead."""
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return
    for name in names:
        if name.startswith(".") and name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                safe_unlink(folder, folder / name)


def claim_folder(
    out: Path, base: Path, source: str, locks: contextlib.ExitStack
) -> tuple[Path, Manifest]:
    """The book folder for ``source``, locked for this render: ``base``, or ``base (2)``...
    when another story with the same author and title already has it."""
    for n in range(1, MAX_TWINS + 1):
        folder = base if n == 1 else base.with_name(f"{base.name} ({n})")
        make_dirs(out, folder)
        if lock_note(folder / LOCK_FILE) not in (None, "", source):
            continue  # another story is being written there right now (a parallel batch)
        lock = contextlib.ExitStack()
        lock.enter_context(held_lock(folder / LOCK_FILE, "this book", note=source))
        manifest = read_manifest(folder)
        if not _owned_by_another(manifest, source):
            locks.enter_context(lock.pop_all())
            if n > 1:
                log.warning(
                    "%s: another story already has %s; this one goes to %s",
                    printable(source), printable(base.name), folder,
                )  # fmt: skip
            manifest.source = source
            _remove_leftovers(folder)
            return folder, manifest
        lock.close()
    raise ExportError(f"{MAX_TWINS} other stories already have this title", base)


def remove_stale(folder: Path, manifest: Manifest, keep: set[str]) -> None:
    """Files an earlier render made that this one did not (renamed chapters, the other
    format): a library would list them as extra tracks. Only audio files named in our
    manifest, and only inside this folder."""
    for name in sorted(set(manifest.files) - keep):
        if Path(name).suffix.lower() in AUDIO_SUFFIXES:
            for path in (folder / name, (folder / name).with_suffix(".vtt")):
                try:
                    safe_unlink(folder, path)
                except (OSError, AudiobookError) as e:
                    log.warning("cannot remove old file %s: %s", path, e)
        del manifest.files[name]
