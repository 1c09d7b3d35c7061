"""Reading a story file's bytes, turning every OS failure into a ``LoadError``."""

from __future__ import annotations

import errno
import stat
from pathlib import Path

from audiobook.errors import LoadError

MB = 1024 * 1024
TEXT_LIMIT = 64 * MB  # a novel is ~1 MB of text; anything far larger is a mistake


def check_file(path: Path) -> int:
    """Return the size of ``path`` after making sure it is a regular file we may read.

    Checking the type first matters: opening a FIFO or device would block or never end.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise LoadError("file not found", path) from None
    except PermissionError:
        raise LoadError("permission denied", path) from None
    except OSError as e:
        raise LoadError(os_reason(e), path) from None
    if stat.S_ISDIR(st.st_mode):
        raise LoadError("is a directory", path)
    if not stat.S_ISREG(st.st_mode):
        raise LoadError("not a regular file", path)
    return st.st_size


def read_bytes(path: Path, limit: int = TEXT_LIMIT) -> bytes:
    """The whole file, refusing empty or oversized ones before reading them."""
    size = check_file(path)
    if size > limit:
        raise LoadError(too_large(size, limit), path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LoadError(os_reason(e), path) from None
    if not data:
        raise LoadError("file is empty", path)
    if len(data) > limit:  # grew since stat()
        raise LoadError(too_large(len(data), limit), path)
    return data


def too_large(size: int, limit: int) -> str:
    return f"file too large ({size / MB:.1f} MB, limit {limit // MB} MB)"


def os_reason(e: OSError) -> str:
    """A short lowercase phrase for an OS error (never the raw exception text)."""
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, FileNotFoundError):
        return "file not found"
    if isinstance(e, IsADirectoryError):
        return "is a directory"
    if e.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    if e.strerror:
        return f"cannot read file ({e.strerror.lower()})"
    return "cannot read file"
