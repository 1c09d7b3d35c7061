"""Small helpers for the fault suite: run the real CLI, read its one-line errors, build
hostile files, and check what a render left behind.

Every case asserts an exact outcome: either correct output, or an exit status plus
exactly one ``audiobook: error: PATH: reason`` line (and never a traceback).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from audiobook.cli import main

ERROR = "audiobook: error: "
TONE = ("--engine", "tone", "--jobs", "1")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        """The one-line errors, without their ``audiobook: error: `` prefix."""
        lines = self.stderr.replace("\r", "\n").splitlines()
        return [ln[len(ERROR) :] for ln in lines if ln.startswith(ERROR)]

    def assert_no_traceback(self) -> None:
        assert "Traceback" not in self.stderr, self.stderr
        assert "Traceback" not in self.stdout, self.stdout


IN_PROCESS_TIMEOUT = 120.0  # seconds; a hang must fail the case, not stall the suite


class Hung(BaseException):  # not caught by `except Exception` in the code under test
    """An in-process CLI run took longer than ``IN_PROCESS_TIMEOUT``."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise ``Hung`` in this (main) thread after ``seconds``."""

    def expire(signum: int, frame: object) -> None:
        raise Hung(f"no result after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(*args: str | Path) -> Outcome:
    """The CLI in this process (fast): exit status, stdout, stderr."""
    with deadline(IN_PROCESS_TIMEOUT):
        r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return Outcome(r.exit_code, r.stdout, r.stderr)


def make(*args: str | Path) -> Outcome:
    """``audiobook make`` with the fast stand-in engine, in this process."""
    return cli("make", *TONE, *args)


def cli_process(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    prefix: Sequence[str] = (),
    timeout: float = 60,
    **kwargs: Any,
) -> Outcome:
    """The CLI as its own process (signals, resource limits, dropped privileges)."""
    cmd = [*prefix, sys.executable, "-m", "audiobook.cli", *(str(a) for a in args)]
    r = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    return Outcome(r.returncode, r.stdout, r.stderr)


def assert_fails(out: Outcome, path: str | Path, reason: str, code: int = 1) -> None:
    """Exactly one error line, naming ``path``, with this exact reason; no traceback."""
    out.assert_no_traceback()
    assert out.code == code, out.stderr
    assert out.errors == [f"{path}: {reason}"], out.stderr


def script(path: Path) -> dict[str, Any]:
    """``audiobook script --json``: the analysed script, as a user would see it."""
    out = cli("script", "--json", path)
    out.assert_no_traceback()
    assert out.code == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def spoken(data: dict[str, Any]) -> str:
    """Everything that would be sent to a voice, in order."""
    return "\n".join(s["spoken"] for s in data["segments"] if s["kind"] != "skip")


def assert_tiles(text: str, segments: Iterable[Any]) -> None:
    """Segments never overlap, each says exactly its span of the text, and every
    letter or digit of the text lies in one of them (the README's contract).

    Accepts ``Segment`` objects or the script JSON's segment dicts."""
    spans: list[tuple[int, int, str]] = []
    for s in segments:
        if isinstance(s, dict):
            spans.append((s["start"], s["end"], s["text"]))
        else:
            spans.append((s.start, s.end, s.text))
    spans.sort()
    prev_end = 0
    for start, end, seg_text in spans:
        assert 0 <= start <= end <= len(text), (start, end)
        assert start >= prev_end, f"overlap at {start}"
        assert seg_text == text[start:end]
        _assert_no_letters(text, prev_end, start)
        prev_end = end
    _assert_no_letters(text, prev_end, len(text))


_LETTER = re.compile(r"[^\W_]")  # a letter or digit (str.isalnum), in C speed


def _assert_no_letters(text: str, start: int, end: int) -> None:
    m = _LETTER.search(text, start, end)
    assert m is None, f"letters in no segment at {m.start()}: {text[m.start() :][:40]!r}"


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def mp3s(out_dir: Path) -> list[Path]:
    return sorted(out_dir.rglob("*.mp3"))


def leftovers(out_dir: Path) -> list[Path]:
    """Temporary files a render must never leave in the output folder."""
    return sorted(p for p in out_dir.rglob("*") if p.name.endswith(".part"))


def assert_complete_mp3(path: Path) -> float:
    """A chapter file a player can use: it decodes to the end, has its tags and chapter
    marks, and is as long as its Xing header says. Returns its seconds."""
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3

    from audiobook.export import decode_audio

    tags = ID3(path)
    assert str(tags["TIT2"]) and str(tags["TALB"]) and str(tags["TRCK"]), path
    assert tags.getall("CHAP"), path
    info: Any = MP3(path).info  # mutagen types it loosely
    header = float(info.length)
    pcm, rate = decode_audio(path)  # ffmpeg: fails on a truncated or broken stream
    seconds = pcm.size / rate
    assert seconds > 0.5, path
    assert abs(seconds - header) < 0.1, (path, seconds, header)
    return seconds


# --- EPUB building -------------------------------------------------------------------

CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="{opf}" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def xhtml(body: str, title: str = "t") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


def opf(
    hrefs: Sequence[str],
    title: str = "Salt and Signal",
    author: str = "Pell Marrow",
    head: str = "",
) -> str:
    """An EPUB 3 package reading ``hrefs`` in order (no TOC: headings come from markup)."""
    items = "".join(
        f'<item id="c{i}" href="{h}" media-type="application/xhtml+xml"/>'
        for i, h in enumerate(hrefs)
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(hrefs)))
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{title}</dc:title><dc:creator>{author}</dc:creator></metadata>"
        f"<manifest>{items}</manifest><spine>{spine}</spine></package>"
    )


def build_epub(
    path: Path,
    members: dict[str, str | bytes],
    opf_path: str | None = "OEBPS/content.opf",
) -> Path:
    """A zip laid out like an EPUB: ``mimetype`` first and stored, then the container
    (pointing at ``opf_path``), then ``members`` exactly as named (``../`` too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        if opf_path is not None:
            z.writestr("META-INF/container.xml", CONTAINER.format(opf=opf_path))
        for name, data in members.items():
            z.writestr(name, data)
    return path


def chapters_xhtml(*paragraphs: str) -> str:
    return xhtml("".join(f"<p>{p}</p>" for p in paragraphs))


# --- stories -------------------------------------------------------------------------


def story_text(chapters: int = 2, paragraphs: int = 2) -> str:
    """An original little story with chapters, narration and attributed dialogue."""
    out: list[str] = []
    for c in range(1, chapters + 1):
        out.append(f"Chapter {c}")
        for p in range(1, paragraphs + 1):
            out.append(
                f'"The tide turns at {p} past {c}," said Ines. Tobin coiled the rope '
                f"and watched the buoy lamp blink across the harbour mouth."
            )
    return "\n\n".join(out) + "\n"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
