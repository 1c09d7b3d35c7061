"""Writing and deleting files without being steered by what is already on disk.

A story folder can come from an archive, and an output folder can be shared: a symlink
planted at a name we are about to write, or a manifest naming files elsewhere, must
never make us write or delete outside the folder we were given. So every write here
goes to a temporary file created exclusively under an unpredictable name (never
through a symlink) and is renamed over its destination (a rename replaces a symlink,
it does not follow it); folders are created one level at a time and a symlinked level
is refused; deletions are of plain names inside a checked folder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import os
import secrets
import stat
import time
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import AudiobookError, ExportError

TEMP_SUFFIX = ".part"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NOFOLLOW
# O_NONBLOCK: opening a FIFO planted at a name we read or lock must not hang.
_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | _NOFOLLOW
_LOCK = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK | _NOFOLLOW

ErrorType = type[AudiobookError]


def os_reason(exc: OSError) -> str:
    """An OSError as the few words a user needs."""
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link"
    return exc.strerror or str(exc)


def is_plain_name(name: object) -> bool:
    """A file name that stays in its folder: no separator, not '.', '..' or empty."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


def ensure_inside(root: Path, path: Path, error: ErrorType = ExportError) -> Path:
    """``path`` with its folder resolved; raises unless it lies inside ``root``.

    The last component is not resolved: a symlink there is replaced by our rename or
    removed by our unlink, never followed."""
    if not is_plain_name(path.name):
        raise error("refusing a file name that leaves its folder", path)
    real_root = Path(os.path.realpath(root))
    full = Path(os.path.realpath(path.parent)) / path.name
    if full != real_root and not full.is_relative_to(real_root):
        raise error(f"refusing to write outside {root}", path)
    return full


def make_dirs(root: Path, folder: Path, error: ErrorType = ExportError) -> Path:
    """Create ``folder`` below ``root`` one level at a time. ``root`` itself may be a
    symlink (the user chose it); a level below it that is a symlink or not a folder
    is refused, so a planted link cannot send a book elsewhere."""
    root = Path(root)
    try:
        rel = Path(folder).relative_to(root)
    except ValueError:
        raise error(f"refusing to write outside {root}", folder) from None
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass  # a file, not a folder: creating the next level says so
    except OSError as e:
        raise error(f"cannot create output folder ({e.strerror or e})", folder) from None
    path = root
    for part in rel.parts:
        if not is_plain_name(part):
            raise error("refusing a folder name that leaves the output folder", folder)
        path = path / part
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        except OSError as e:
            raise error(f"cannot create output folder ({e.strerror or e})", folder) from None
        try:
            mode = os.lstat(path).st_mode
        except OSError as e:
            raise error(f"cannot create output folder ({os_reason(e)})", path) from None
        if stat.S_ISLNK(mode):
            raise error("output folder is a symbolic link; refusing to write through it", path)
        if not stat.S_ISDIR(mode):
            raise error("output folder exists and is not a folder", path)
    return path


def temp_name(dest: Path) -> Path:
    """A hidden, unpredictable temporary name beside ``dest`` (still ending .part, so
    the cleaners that look for leftovers find it)."""
    return dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def open_temp(dest: Path) -> tuple[int, Path]:
    """(fd, path) of a new, empty temporary file beside ``dest``: created exclusively,
    never through a symlink."""
    for _ in range(8):
        tmp = temp_name(dest)
        try:
            return os.open(tmp, _CREATE, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "cannot pick a temporary name", str(dest))


def create_exclusive(path: Path) -> None:
    """Create the empty file ``path``; fails if anything (a symlink too) is there."""
    os.close(os.open(path, _CREATE, 0o666))


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def replacing(
    dest: Path, root: Path | None = None, error: ErrorType = ExportError
) -> Iterator[Path]:
    """A new empty temporary file beside ``dest``; renamed over ``dest`` when the block
    ends cleanly, removed when it raises (Ctrl-C included). OSErrors propagate."""
    if root is not None:
        ensure_inside(root, dest, error)
    elif not is_plain_name(dest.name):
        raise error("refusing a file name that leaves its folder", dest)
    fd, tmp = open_temp(dest)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        remove_quietly(tmp)
        raise


def write_into(tmp: Path, chunks: Iterable[bytes]) -> None:
    """Fill the temporary file ``replacing`` made (never through a symlink)."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CLOEXEC | _NOFOLLOW)
    with os.fdopen(fd, "wb") as f:
        for chunk in chunks:
            f.write(chunk)


def atomic_write(
    dest: Path,
    data: bytes | str | Iterable[bytes],
    *,
    root: Path | None = None,
    error: ErrorType = ExportError,
    what: str = "cannot write",
) -> None:
    """Write ``data`` to ``dest`` atomically; an OSError becomes one ``error`` line."""
    dest = Path(dest)
    chunks: Iterable[bytes]
    if isinstance(data, str):
        chunks = (data.encode("utf-8"),)
    elif isinstance(data, bytes | bytearray | memoryview):
        chunks = (bytes(data),)
    else:
        chunks = data
    try:
        with replacing(dest, root, error) as tmp:
            write_into(tmp, chunks)
    except OSError as e:
        raise error(f"{what}: {os_reason(e)}", dest) from None


def write_wav(dest: Path, pcm: Any, rate: int, *, what: str = "cannot write") -> None:
    """int16 mono PCM to a WAV file, atomically (previews, lexicon tests)."""
    import numpy as np

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    atomic_write(dest, buf.getvalue(), what=what)


def safe_unlink(root: Path, path: Path) -> bool:
    """Delete the file ``path`` (a symlink itself, never its target) if it lies inside
    ``root``; True if something was removed. Anything outside is refused."""
    ensure_inside(root, path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def read_regular(path: Path, limit: int | None = None, *, follow: bool = False) -> bytes | None:
    """The bytes of a regular file (never blocking on a FIFO; through a symlink only
    with ``follow``), None if it is missing, not a regular file, or over ``limit``."""
    try:
        fd = os.open(path, _READ if not follow else _READ & ~_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or (limit is not None and st.st_size > limit):
            return None
        return f.read()


def file_digest(path: Path) -> tuple[int, str] | None:
    """(size, sha256) of a regular file, None if it is missing or not a regular file."""
    try:
        fd = os.open(path, _READ)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        h = hashlib.sha256()
        size = 0
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


# --- locks -----------------------------------------------------------------------------

LOCK_WAIT_SECONDS = 5.0  # a second run waits this long for the first, then says who holds it


def lock_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("AUDIOBOOK_LOCK_WAIT", LOCK_WAIT_SECONDS)))
    except ValueError:
        return LOCK_WAIT_SECONDS


def lock_note(path: Path) -> str | None:
    """What the run holding the lock file ``path`` wrote after its pid (``held_lock``'s
    ``note``), or None when no run holds it now."""
    try:
        fd = os.open(path, _READ)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _, _, note = os.pread(fd, 4096, 0).decode("utf-8", "replace").partition("\n")
            return note.strip()
        return None  # free (our flock ends when the fd is closed)
    finally:
        os.close(fd)


@contextlib.contextmanager
def held_lock(
    path: Path, what: str, error: ErrorType = ExportError, *, create: bool = True, note: str = ""
) -> Iterator[None]:
    """An exclusive lock on ``path`` for the block. ``create``: a lock file of our own,
    made if needed, that records our pid and ``note``; else an existing file (a story)
    locked as it is, read-only. Another run holding it: wait up to ``lock_wait()`` seconds, then
    raise one ``error`` line (naming its pid when known). Released when the block ends
    or the process dies."""
    try:
        fd = os.open(path, _LOCK, 0o666) if create else os.open(path, _READ & ~_NOFOLLOW)
    except OSError as e:
        raise error(f"cannot lock {what} ({os_reason(e)})", path) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"cannot lock {what} (the lock file is not a regular file)", path)
        deadline = time.monotonic() + lock_wait()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").split("\n")[0]
                    who = f" (pid {holder})" if create and holder.isdigit() else ""
                    raise error(
                        f"another audiobook run{who} is writing {what}; "
                        "try again when it has finished",
                        path,
                    ) from None
                time.sleep(0.1)
        if create:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n{note}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
