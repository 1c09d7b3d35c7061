"""Reading structures other people wrote (a sidecar, a roster, a voice's metadata):
every value is checked for its type and range as it is taken, and a wrong one is one
error naming the file, the key and what was expected — never a ``TypeError`` deep in
the render, never an absurd number that allocates gigabytes.

    r = Reader(data, path, CastError)
    narrator = r.table("cast").text("narrator")          # str | None
    rate = r.table("audio").integer("sample_rate", lo=8000, hi=192000, default=None)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from .errors import AudiobookError

T = TypeVar("T")
_MISSING: Any = object()
REQUIRED: Any = _MISSING  # as a default: the key must be there


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: object) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text"}
    names |= {list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


class Reader:
    """A table of ``data`` read from ``path``; ``where`` is its dotted key path."""

    def __init__(
        self,
        data: object,
        path: Path,
        error: type[AudiobookError],
        where: str = "",
    ) -> None:
        if not isinstance(data, dict):
            raise error(f"{where or 'the file'}: expected a table, found {_kind(data)}", path)
        self.data: dict[str, Any] = data
        self.path = path
        self.error = error
        self.where = where

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, expected: str, value: object = _MISSING) -> AudiobookError:
        found = "" if value is _MISSING else f", found {_kind(value)} {_shown(value)}"
        return self.error(f"{self.key(name)}: expected {expected}{found}", self.path)

    def _get(self, name: str, default: object) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.fail(name, "a value (it is missing)")
            return default
        return value

    def text(self, name: str, default: Any = None, *, max_len: int = 10_000) -> Any:
        """A string (at most ``max_len`` characters), or ``default`` when absent."""
        value = self._get(name, default)
        if value is default and name not in self.data:
            return value
        if not isinstance(value, str) or len(value) > max_len:
            raise self.fail(name, f"text of at most {max_len} characters", value)
        return value

    def integer(self, name: str, default: Any = _MISSING, *, lo: int, hi: int | None) -> Any:
        """A whole number from ``lo`` to ``hi`` (None: no upper bound)."""
        value = self._get(name, default)
        if value is default and name not in self.data:
            return value
        top = value if hi is None else hi
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= top:
            span = f"of at least {lo}" if hi is None else f"from {lo} to {hi}"
            raise self.fail(name, f"a whole number {span}", value)
        return value

    def number(self, name: str, default: Any = _MISSING, *, lo: float, hi: float) -> Any:
        value = self._get(name, default)
        if value is default and name not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise self.fail(name, f"a number from {lo:g} to {hi:g}", value)
        return float(value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false", value)
        return value

    def choice(self, name: str, options: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value is default and name not in self.data:
            return value
        if value not in options:
            raise self.fail(name, " or ".join(options), value)
        return value

    def table(self, name: str, *, required: bool = False) -> Reader:
        """A sub-table; an absent one reads as empty unless ``required``."""
        value = self._get(name, _MISSING if required else {})
        if not isinstance(value, dict):
            raise self.fail(name, "a table", value)
        return Reader(value, self.path, self.error, self.key(name))

    def text_map(self, name: str, *, max_len: int = 10_000) -> dict[str, str]:
        """A table of text values (names to voices, words to respellings)."""
        table = self.table(name)
        return {k: table.text(k, max_len=max_len) for k in table.data}

    def items(self, name: str, *, max_items: int = 1_000_000) -> Iterator[Reader]:
        """Each table of a list of tables (``[[speakers]]``), as a Reader."""
        value = self._get(name, [])
        if not isinstance(value, list) or len(value) > max_items:
            raise self.fail(name, f"a list of at most {max_items} tables", value)
        for i, item in enumerate(value):
            yield Reader(item, self.path, self.error, f"{self.key(name)}[{i}]")

    def text_list(self, name: str, default: Any = (), *, max_items: int = 10_000) -> list[str]:
        value = self._get(name, list(default))
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(isinstance(v, str) for v in value)
        ):
            raise self.fail(name, "a list of text", value)
        return list(value)
