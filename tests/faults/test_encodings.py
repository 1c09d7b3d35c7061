"""Valid UTF-16 and UTF-32 without a byte order mark, in scripts that are not Latin:
read as the text they are, not refused as binary (their NULs are not every other byte,
so the Latin UTF-16 test cannot see them). Binary data is still refused."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from audiobook.load import load

from .helpers import assert_fails, make, mp3s, write

STORIES = {
    "russian": "Глава 1\n\n«Снег идёт», сказала Анна. Иван смотрел в окно.\n",
    "chinese": "第一章\n\n“雪在下，”安娜说。伊万望着窗外。\n",
    "japanese": "第一章\n\n「雪が降っている」とアンナは言った。イワンは窓の外を見ていた。\n",
    "greek": "Κεφάλαιο 1\n\n«Χιονίζει», είπε η Άννα. Ο Ιβάν κοίταζε έξω.\n",
}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("script", sorted(STORIES))
def test_wide_text_without_bom(tmp_path: Path, script: str, encoding: str) -> None:
    text = STORIES[script] * 5
    path = write(tmp_path / "story.txt", text.encode(encoding))
    assert load(path).text == text


def test_wide_text_without_bom_renders(tmp_path: Path) -> None:
    path = write(tmp_path / "story.txt", (STORIES["russian"] * 3).encode("utf-16-le"))
    out = make(path, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert len(mp3s(tmp_path / "out")) == 1


def test_binary_with_nuls_is_still_refused(tmp_path: Path) -> None:
    rng = random.Random(21)
    noise = bytes(rng.randrange(256) for _ in range(8192)) + b"\x00" * 16
    path = write(tmp_path / "noise.txt", noise)
    assert_fails(make(path, "-o", tmp_path / "out"), path, "not a text file (binary data)")
