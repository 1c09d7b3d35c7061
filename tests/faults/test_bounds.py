"""Unbounded work from small input: a run-on text with no sentence punctuation, one
enormous word, a cover that claims billions of pixels, a "cover" that is a FIFO or a
device, a download that trickles forever. Each is cut down to size or refused."""

from __future__ import annotations

import http.server
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from audiobook.cover import MAX_COVER_PIXELS, generated_cover, normalize_cover
from audiobook.load import load
from audiobook.segment import MAX_SEGMENT_CHARS, segment
from audiobook.structure import build

from .helpers import (
    assert_complete_mp3,
    assert_tiles,
    build_epub,
    cli,
    make,
    mp3s,
    opf,
    story_text,
    write,
    xhtml,
)


def segments_of(path: Path) -> tuple[str, list[tuple[int, int]]]:
    doc = load(path)
    segs = segment(doc, build(doc))
    assert_tiles(doc.text, segs)
    return doc.text, [(s.start, s.end) for s in segs]


def test_text_without_sentence_punctuation_is_cut_at_clauses(tmp_path: Path) -> None:
    clause = "the tide came in over the flats and the herons lifted, "
    text = "Chapter 1\n\n" + clause * (300_000 // len(clause)) + "and then it was still\n"
    t0 = time.monotonic()
    body, spans = segments_of(write(tmp_path / "runon.txt", text))
    assert time.monotonic() - t0 < 20
    longest = max(e - a for a, e in spans)
    assert MAX_SEGMENT_CHARS // 2 <= longest <= MAX_SEGMENT_CHARS
    # Every piece but the last ends at a clause mark, not in the middle of one.
    pieces = [body[a:e] for a, e in spans if e - a > 100]
    assert all(p.endswith(",") for p in pieces[:-1])


def test_one_enormous_word_is_cut_anyway(tmp_path: Path) -> None:
    word = "ab" * 25_000  # 50,000 letters, no space at all
    _, spans = segments_of(write(tmp_path / "word.txt", f"Chapter 1\n\n{word}\n"))
    assert max(e - a for a, e in spans) <= MAX_SEGMENT_CHARS
    assert sum(e - a for a, e in spans) >= len(word)


def test_spaces_only_text_is_cut_at_words(tmp_path: Path) -> None:
    words = " ".join(f"gull{i}" for i in range(20_000))
    body, spans = segments_of(write(tmp_path / "words.txt", f"Chapter 1\n\n{words}\n"))
    assert max(e - a for a, e in spans) <= MAX_SEGMENT_CHARS
    for a, e in spans:  # never inside a word
        assert body[a - 1].isspace() and (e == len(body) or not body[e].isalnum())


def big_png(width: int, height: int) -> bytes:
    """A real, valid greyscale PNG of ``width`` x ``height`` black pixels: a few KB of
    file that decodes to width x height bytes (x3 as RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    z = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_cover_with_too_many_pixels_is_refused_before_decoding() -> None:
    side = int(MAX_COVER_PIXELS**0.5) + 100
    png = big_png(side, side)
    assert len(png) < 200_000  # small on disk
    with pytest.raises(ValueError, match=rf"image too large \({side} x {side} pixels"):
        normalize_cover(png)


def test_epub_with_a_pixel_bomb_cover_gets_a_generated_one(tmp_path: Path) -> None:
    side = int(MAX_COVER_PIXELS**0.5) + 100
    head = '<meta name="cover" content="cov"/>'
    package = opf(["a.xhtml"], title="Bright Shoal", author="Pell Marrow").replace(
        "</metadata>", f"{head}</metadata>"
    )
    package = package.replace(
        "<manifest>", '<manifest><item id="cov" href="c.png" media-type="image/png"/>'
    )
    book = build_epub(
        tmp_path / "bomb.epub",
        {
            "OEBPS/content.opf": package,
            "OEBPS/a.xhtml": xhtml("<p>The shoal shone under the moon.</p>"),
            "OEBPS/c.png": big_png(side, side),
        },
    )
    t0 = time.monotonic()
    out = make(book, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert time.monotonic() - t0 < 60
    [mp3] = mp3s(tmp_path / "out")
    assert_complete_mp3(mp3)
    cover = (mp3.parent / "cover.jpg").read_bytes()
    assert cover == generated_cover("Bright Shoal", "Pell Marrow")  # not the bomb


def test_cover_option_on_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    fifo = tmp_path / "cover.png"
    os.mkfifo(fifo)
    out = make("--cover", fifo, story, "-o", tmp_path / "out")  # a hang fails the case
    out.assert_no_traceback()
    assert out.code == 2
    assert "cover image is not a regular file" in out.stderr
    assert mp3s(tmp_path / "out") == []


def test_cover_option_on_a_device_is_refused(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    out = make("--cover", "/dev/zero", story, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 2
    assert "cover image is not a regular file" in out.stderr


class _Trickle(http.server.BaseHTTPRequestHandler):
    """A server that answers every request with a body sent a few bytes at a time."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000000")
        self.end_headers()
        try:
            for _ in range(10_000):
                self.wfile.write(b"\x08" * 16)
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trickling_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_voice_download_has_an_overall_time_limit(
    tmp_path: Path, trickling_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOBOOK_PIPER_VOICES_URL", trickling_server)
    monkeypatch.setenv("AUDIOBOOK_DOWNLOAD_MAX_SECONDS", "1")
    t0 = time.monotonic()
    out = cli("voices", "install", "en_US-slowpoke-medium", "--to", tmp_path / "v")
    out.assert_no_traceback()
    assert out.code == 1
    assert out.errors == ["cannot download voice 'en_US-slowpoke-medium': took over 1 s"]
    assert time.monotonic() - t0 < 15
    assert not (tmp_path / "v").exists() or list((tmp_path / "v").iterdir()) == []
