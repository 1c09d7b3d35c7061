"""What the ``audiobook voices`` commands do: list and install voices (hearing one is
``preview``'s).

Kept out of the CLI so a front end other than the command line (the TUI) can offer
the same actions. Installing copies a ``.onnx`` + ``.onnx.json`` pair into the user voice
folder, from a path or, by name, from the Piper voices repository; every failure is a
``VoiceError`` with one clear line, never a traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import fsutil
from .errors import VoiceError
from .voices import Voice, read_config, user_voice_dir

# Where `voices install NAME` downloads from; AUDIOBOOK_PIPER_VOICES_URL overrides it
# (a mirror, or a local copy of the repository as a file:// URL).
PIPER_VOICES_URL = "https://huggingface.co/rhasspy/piper-voices/resolve/main"
VOICE_NAME = re.compile(
    r"^(?P<family>[a-z]{2,3})_(?P<region>[A-Z]{2})-(?P<name>[A-Za-z0-9_]+)"
    r"-(?P<quality>x_low|low|medium|high)$"
)
DOWNLOAD_TIMEOUT = 30.0  # seconds without data before giving up
DOWNLOAD_DEADLINE = 1800.0  # seconds for one whole file (the largest voices are ~120 MB)
DOWNLOAD_MAX_BYTES = 1 << 30  # no Piper voice comes near a gigabyte


class InstallError(VoiceError):
    """A voice could not be installed (bad files, unknown name, no network)."""


@dataclass
class Installed:
    folder: Path
    voices: list[Voice] = field(default_factory=list)  # the voices now available
    already: list[str] = field(default_factory=list)  # models that were there, identical


def voice_json(v: Voice) -> dict[str, Any]:
    """One entry of ``audiobook voices --json`` (a stable format: keys are only added)."""
    return {
        "name": v.name,
        "language": v.language,
        "gender": v.gender,
        "quality": v.quality,
        "sample_rate": v.sample_rate,
        "source": v.source,
        "pitch": v.pitch,
        "tempo": v.tempo,
        "f0": v.f0,  # Hz, the median pitch of a made voice; None: the model's own
        "formant_ratio": round(v.formant_ratio, 3),
        "noise_scale": v.noise_scale,
        "noise_w": v.noise_w,
        "speaker_id": v.speaker_id,
        "gain_db": v.gain_db,
        "model": str(v.model),
        "description": v.description,
    }


# --- install ----------------------------------------------------------------------


def _pair(path: Path) -> tuple[Path, Path]:
    """(model, config) for a path to either file of a voice."""
    if path.name.endswith(".onnx.json"):
        return path.with_name(path.name.removesuffix(".json")), path
    if path.suffix == ".onnx":
        return path, path.with_name(path.name + ".json")
    raise InstallError("a Piper voice is a NAME.onnx file with NAME.onnx.json beside it", path)


def _check(model: Path, config: Path) -> None:
    """Enough to know the pair is a Piper voice; the engine checks the rest on load."""
    if not model.is_file():
        raise InstallError(f"the voice model {model.name} is missing", model)
    if not config.is_file():
        raise InstallError(
            f"{config.name} is missing: Piper voices need their .onnx.json config", config
        )
    try:
        with open(model, "rb") as f:
            head = f.read(1)
    except OSError as e:
        raise InstallError(f"cannot read the voice model ({e.strerror or e})", model) from e
    if head != b"\x08":  # every ONNX file starts with its ir_version field
        raise InstallError("not an ONNX model", model)
    if read_config(config) is None:
        raise InstallError("not a valid Piper voice config (see the warning above)", config)


def _copy(src: Path, dest: Path) -> None:
    try:
        with fsutil.replacing(dest, error=InstallError) as tmp:
            shutil.copyfile(src, tmp)
    except OSError as e:
        raise InstallError(f"cannot copy the voice ({e.strerror or e})", dest) from e


def _same(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def install_files(
    model: Path, config: Path, dest: Path | None = None, *, force: bool = False
) -> Installed:
    """Copy a checked voice pair into ``dest`` (default: the user voice folder)."""
    _check(model, config)
    dest = dest or user_voice_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InstallError(f"cannot create the voice folder ({e.strerror or e})", dest) from e
    stem = model.name.removesuffix(".onnx")
    to_model, to_config = dest / f"{stem}.onnx", dest / f"{stem}.onnx.json"
    done = Installed(dest)
    if to_model.exists() and not force:
        if not (_same(model, to_model) and _same(config, to_config)):
            raise InstallError(
                f"another voice called '{stem}' is installed; use --force to replace it",
                to_model,
            )
        done.already.append(stem)
    elif model.resolve() != to_model.resolve():
        # The config last: discovery only sees a voice once its .onnx.json is there.
        to_config.unlink(missing_ok=True)
        _copy(model, to_model)
        _copy(config, to_config)
    from .voices import voices_from_model

    done.voices = voices_from_model(to_model, "user")
    return done


def _offline(what: str, reason: object) -> str:
    return (
        f"cannot download voice '{what}': no connection to the Piper voices repository "
        f"({reason}); download {what}.onnx and {what}.onnx.json yourself and run "
        f"`audiobook voices install PATH`"
    )


def _download_limits() -> tuple[float, int]:
    """(seconds, bytes) one voice file may take: $AUDIOBOOK_DOWNLOAD_MAX_SECONDS, else
    DOWNLOAD_DEADLINE; DOWNLOAD_MAX_BYTES."""
    try:
        seconds = float(os.environ.get("AUDIOBOOK_DOWNLOAD_MAX_SECONDS", DOWNLOAD_DEADLINE))
    except ValueError:
        seconds = DOWNLOAD_DEADLINE
    return max(0.1, seconds), DOWNLOAD_MAX_BYTES


def _copy_limited(response: IO[bytes], f: IO[bytes], what: str) -> None:
    """Copy a download, giving up when it takes too long in all (a server trickling a
    byte at a time never trips the per-read timeout) or grows too large."""
    seconds, max_bytes = _download_limits()
    deadline = time.monotonic() + seconds
    size = 0
    # read1: whatever has arrived, so the deadline is checked while a server trickles.
    read = getattr(response, "read1", response.read)
    while chunk := read(1 << 16):
        size += len(chunk)
        if size > max_bytes:
            raise InstallError(
                f"cannot download voice '{what}': larger than {max_bytes // 2**20} MB"
            )
        if time.monotonic() > deadline:
            raise InstallError(f"cannot download voice '{what}': took over {seconds:.0f} s")
        f.write(chunk)


def _fetch(url: str, dest: Path, what: str) -> None:
    import http.client

    try:
        with (
            fsutil.replacing(dest, error=InstallError) as tmp,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
            open(tmp, "wb") as f,
        ):
            _copy_limited(response, f, what)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            raise InstallError(f"the Piper voices repository has no voice '{what}'") from None
        raise InstallError(f"cannot download voice '{what}' (HTTP {e.code})") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, FileNotFoundError):  # a file:// mirror's 404
            raise InstallError(f"the Piper voices repository has no voice '{what}'") from None
        raise InstallError(_offline(what, e.reason)) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as e:
        raise InstallError(_offline(what, e)) from None
    except (OSError, ValueError) as e:
        raise InstallError(f"cannot download voice '{what}' ({e})", dest) from None


def install_by_name(
    name: str, dest: Path | None = None, *, force: bool = False, base_url: str | None = None
) -> Installed:
    """Download ``name`` (e.g. ``en_US-lessac-medium``) from the Piper voices repository."""
    m = VOICE_NAME.match(name)
    if m is None:
        raise InstallError(
            f"'{name}' is neither a file nor a Piper voice name like en_US-lessac-medium"
        )
    base = base_url or os.environ.get("AUDIOBOOK_PIPER_VOICES_URL") or PIPER_VOICES_URL
    lang = f"{m['family']}_{m['region']}"
    url = f"{base.rstrip('/')}/{m['family']}/{lang}/{m['name']}/{m['quality']}/{name}.onnx"
    # Downloaded outside the voice folder, so a render never sees half a voice.
    with tempfile.TemporaryDirectory(prefix="audiobook-voice-") as tmp:
        staging = Path(tmp)
        _fetch(url + ".json", staging / f"{name}.onnx.json", name)  # small: fails fast
        _fetch(url, staging / f"{name}.onnx", name)
        return install_files(
            staging / f"{name}.onnx", staging / f"{name}.onnx.json", dest, force=force
        )


def install(source: str, dest: Path | None = None, *, force: bool = False) -> Installed:
    """``voices install PATH_OR_NAME``: a file (either half of a voice pair) or a folder
    of voice pairs is copied; anything else is looked up by name in the repository."""
    path = Path(source).expanduser()
    if path.is_dir():
        models = sorted(path.glob("*.onnx"))
        if not models:
            raise InstallError("no .onnx voices in this folder", path)
        done = Installed(dest or user_voice_dir())
        for model in models:
            one = install_files(model, model.with_name(model.name + ".json"), dest, force=force)
            done.voices += one.voices
            done.already += one.already
        return done
    if path.exists() or path.suffix in (".onnx", ".json") or os.sep in source:
        if not path.exists():
            raise InstallError("no such file", path)
        model, config = _pair(path)
        return install_files(model, config, dest, force=force)
    return install_by_name(source, dest, force=force)
