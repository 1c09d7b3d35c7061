"""Environment faults: files we may not read, folders posing as files, broken voices,
output we may not write, a full disk, a broken cache, a broken sidecar."""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from audiobook.voices import bundled_voices

from .helpers import (
    TONE,
    assert_complete_mp3,
    assert_fails,
    cli,
    cli_process,
    leftovers,
    make,
    mp3s,
    story_text,
    write,
)


@functools.cache
def _unprivileged_prefix() -> tuple[str, ...] | None:
    """A command prefix under which file permissions apply to us. Tests run as root
    here, and root reads a chmod 000 file; without CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH (dropped by ``setpriv``) it cannot, while keeping its uid (so
    the venv under /root stays usable). None if neither works on this machine."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set", "-dac_override,-dac_read_search")
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"audiobook-probe-{os.getpid()}"
    probe.write_text("x")
    probe.chmod(0)
    try:
        r = subprocess.run([*prefix, "cat", str(probe)], capture_output=True, check=False)
    except OSError:
        return None
    finally:
        probe.unlink()
    return prefix if r.returncode != 0 else None


def unprivileged() -> tuple[str, ...]:
    prefix = _unprivileged_prefix()
    if prefix is None:
        pytest.skip("cannot make file permissions apply to this (root) process")
    return prefix


def test_unreadable_file_in_a_batch(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", story_text(1, 1))
    locked = write(tmp_path / "locked.txt", story_text(1, 1))
    locked.chmod(0)
    out = cli_process(
        ["make", *TONE, good, locked, "-o", tmp_path / "out"], cwd=tmp_path, prefix=unprivileged()
    )
    assert_fails(out, locked, "permission denied")
    assert [p.parent.name for p in mp3s(tmp_path / "out")] == ["Good"]


def test_folder_named_like_a_file(tmp_path: Path) -> None:
    # Given as a story, a folder called story.txt is a folder: searched, not opened.
    folder = tmp_path / "story.txt"
    write(folder / "part one.txt", story_text(1, 1))
    out = make(folder, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert [p.parent.name for p in mp3s(tmp_path / "out")] == ["Part One"]
    # `script` takes one file: a folder is named as such.
    assert_fails(cli("script", folder), folder, "is a directory")


def test_empty_folder_named_like_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "story.txt"
    folder.mkdir()
    out = make(folder, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 2
    assert f"no stories found in {folder} (.txt, .md, .html, .htm, .epub)" in out.stderr


def test_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    # Opening a FIFO blocks until a writer comes: it must be refused unopened.
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    out = cli_process(["make", *TONE, fifo, "-o", tmp_path / "out"], cwd=tmp_path, timeout=30)
    assert_fails(out, fifo, "not a regular file")


def _voice_dir(tmp_path: Path, name: str, model: bytes | None, config: bool) -> Path:
    folder = tmp_path / "voices-extra"
    folder.mkdir(exist_ok=True)
    if model is not None:
        (folder / f"{name}.onnx").write_bytes(model)
    if config:
        joe = bundled_voices()[0]
        shutil.copy(joe.config, folder / f"{name}.onnx.json")
    return folder


def test_corrupt_onnx_voice(tmp_path: Path) -> None:
    # A sidecar casts the narrator as a voice whose model is garbage: the real engine
    # must name the file, not crash inside onnxruntime.
    folder = _voice_dir(tmp_path, "badvoice", b"\x08\x01garbage-not-a-model" * 64, True)
    story = write(tmp_path / "story.txt", story_text(1, 1))
    write(tmp_path / "story.txt.audiobook.toml", '[cast]\nnarrator = "badvoice"\n')
    out = cli("make", "--jobs", "1", "--voice-dir", folder, story, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 1
    [err] = out.errors
    model = folder / "badvoice.onnx"
    assert err.startswith(f"{model}: voice model for 'badvoice' is corrupt or unreadable ("), err
    assert "\n" not in err
    assert mp3s(tmp_path / "out") == []


def test_voice_without_its_json(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = _voice_dir(tmp_path, "lonely", b"\x08\x01model", False)
    story = write(tmp_path / "story.txt", story_text(1, 1))
    sidecar = write(tmp_path / "story.txt.audiobook.toml", '[cast]\nnarrator = "lonely"\n')
    out = make("--voice-dir", folder, story, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 1
    # The model is named as a warning where it is skipped (on stderr outside pytest),
    # then the story fails on its sidecar's choice.
    warning = f"skipping voice {folder / 'lonely.onnx'}: no lonely.onnx.json next to it"
    assert warning in caplog.messages
    [err] = out.errors
    assert err.startswith(f"{sidecar}: narrator: unknown voice 'lonely' (known: joe, "), err


def test_output_path_is_a_file(tmp_path: Path) -> None:
    # Works as root too: no permission can make a regular file a folder.
    story = write(tmp_path / "story.txt", story_text(1, 1))
    blocker = write(tmp_path / "out", "not a folder")
    out = make(story, "-o", blocker)
    assert_fails(out, blocker / "Story", "cannot create output folder (Not a directory)")
    assert blocker.read_text() == "not a folder"


def test_output_folder_not_writable(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        out = cli_process(["make", *TONE, story, "-o", ro], cwd=tmp_path, prefix=unprivileged())
    finally:
        ro.chmod(0o755)
    assert_fails(out, ro / "Story", "cannot create output folder (Permission denied)")
    assert list(ro.iterdir()) == []


def _limit_file_size(limit: int) -> None:
    """In the child before exec: writes past ``limit`` bytes fail with EFBIG, as on a
    full disk (SIGXFSZ ignored, so the write fails instead of killing the process)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_disk_full_while_writing_a_chapter(tmp_path: Path) -> None:
    # Lines are short (their cached audio fits under the limit), the chapter is long
    # (its MP3 does not): the failure comes while the MP3 is written.
    lines = [f"The gull number {i} flew home." for i in range(10)]
    story = write(tmp_path / "story.txt", "Chapter 1\n\n" + "\n\n".join(lines) + "\n")
    limit = 100_000
    out = cli_process(
        ["make", *TONE, story, "-o", tmp_path / "out"],
        cwd=tmp_path,
        preexec_fn=functools.partial(_limit_file_size, limit),
    )
    book = tmp_path / "out" / "Story"
    assert_fails(out, book / "01 - Chapter 1.mp3", "MP3 encoding failed: file size limit exceeded")
    assert mp3s(tmp_path / "out") == [] and leftovers(tmp_path / "out") == []
    # With room again, the same command finishes, reusing the cached lines.
    again = make(story, "-o", tmp_path / "out")
    assert again.code == 0, again.stderr
    assert "11 lines, 11 from cache" in again.stderr
    [mp3] = mp3s(tmp_path / "out")
    assert_complete_mp3(mp3)
    assert mp3.stat().st_size > limit


def test_cache_folder_not_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = write(tmp_path / "cache-file", "a file where the cache folder should be")
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(blocker))
    story = write(tmp_path / "story.txt", story_text(1, 1))
    out = make(story, "-o", tmp_path / "out")
    assert_fails(out, blocker, "cannot write the audio cache (Not a directory)")
    assert mp3s(tmp_path / "out") == [] and leftovers(tmp_path / "out") == []


def test_broken_sidecar(tmp_path: Path) -> None:
    good = write(tmp_path / "a.txt", story_text(1, 1))
    bad = write(tmp_path / "b.txt", story_text(1, 1))
    sidecar = write(tmp_path / "b.txt.audiobook.toml", '[cast\nnarrator = "joe"\n')
    out = make(good, bad, "-o", tmp_path / "out")
    assert_fails(
        out,
        sidecar,
        "invalid TOML: Expected ']' at the end of a table declaration (at line 1, column 6)",
    )
    assert [p.parent.name for p in mp3s(tmp_path / "out")] == ["A"]
    assert sidecar.read_text() == '[cast\nnarrator = "joe"\n'  # never overwritten
