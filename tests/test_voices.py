from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from audiobook.errors import VoiceError
from audiobook.voices import (
    DEFAULT_VOICE,
    Voice,
    bundled_voices,
    discover_voices,
    find_voice,
    variants_of,
)


def _write_model(
    folder: Path, stem: str, cfg: dict[str, object] | None = None, *, json_text: str | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{stem}.onnx"
    model.write_bytes(b"not really a model")
    config = {"audio": {"sample_rate": 16000, "quality": "low"}, "num_speakers": 1}
    config.update(cfg or {})
    text = json_text if json_text is not None else json.dumps(config)
    (folder / f"{stem}.onnx.json").write_text(text, encoding="utf-8")
    return model


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd and the user data dir inside tmp_path, so the real machine's voices don't leak in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_bundled_joe_and_variants() -> None:
    voices = bundled_voices()
    names = [v.name for v in voices]
    assert names[0] == DEFAULT_VOICE == "joe"
    assert len(names) == len(set(names)) >= 9  # joe + at least 8 variants
    joe = voices[0]
    assert joe.model.is_file() and joe.config.is_file()
    assert joe.gender == "male" and joe.sample_rate == 22050 and joe.source == "bundled"
    pitches = sorted(v.pitch for v in voices)
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(pitches))
    assert all(-6 <= v.pitch <= 9 and 0.8 <= v.tempo <= 1.2 for v in voices)
    by_name = {v.name: v for v in voices}
    assert by_name["joe-deep"].gender == "male" and by_name["joe-deep"].pitch < 0
    assert by_name["joe-airy"].gender == "female" and by_name["joe-airy"].pitch >= 6
    assert {v.gender for v in voices} == {"male", "female"}


def test_variants_of_user_voice_follow_base(tmp_path: Path) -> None:
    base = Voice("en_GB-x-medium", tmp_path / "x.onnx", tmp_path / "x.onnx.json", gender="female")
    variants = variants_of(base)
    assert all(v.name.startswith("en_GB-x-medium-") for v in variants)
    assert all(v.model == base.model for v in variants)
    # a female model stays female except far down
    assert {v.gender for v in variants if v.pitch > -4} == {"female"}
    assert all(v.gender == "male" for v in variants if v.pitch <= -4)


def test_discovers_models_in_voices_user_and_extra_dirs(isolated: Path) -> None:
    _write_model(isolated / "voices", "en_GB-alba-medium", {"gender": "F"})
    _write_model(isolated / "xdg" / "audiobook" / "voices", "en_US-user-low")
    _write_model(isolated / "extra" / "nested", "de_DE-thing-high", {"language": {"code": "de_DE"}})
    voices = {v.name: v for v in discover_voices([isolated / "extra"])}
    alba = voices["en_GB-alba-medium"]
    assert alba.source == "voices/" and alba.gender == "female"
    assert alba.sample_rate == 16000 and alba.quality == "low" and alba.language == "en_GB"
    assert voices["en_US-user-low"].source == "user"
    assert voices["de_DE-thing-high"].language == "de_DE"
    assert voices["de_DE-thing-high"].source == str(isolated / "extra")
    assert "joe" in voices and "joe-high" in voices


def test_bad_models_are_skipped_with_warning(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = isolated / "voices"
    folder.mkdir()
    (folder / "lonely.onnx").write_bytes(b"x")  # no json
    _write_model(folder, "broken", json_text="{ not json")
    _write_model(folder, "norate", json_text='{"audio": {}}')
    _write_model(folder, "fine")
    with caplog.at_level(logging.WARNING, logger="audiobook.voices"):
        names = {v.name for v in discover_voices()}
    assert "fine" in names
    assert not names & {"lonely", "broken", "norate"}
    text = caplog.text
    assert "lonely.onnx" in text and "broken.onnx.json" in text and "norate.onnx.json" in text


def test_multi_speaker_model_gives_one_voice_per_speaker(isolated: Path) -> None:
    _write_model(
        isolated / "voices",
        "en_US-crowd-medium",
        {
            "num_speakers": 3,
            "speaker_id_map": {"12": 0, "p7": 1, "anna": 2},
            "speakers": {"anna": {"gender": "female"}, "12": {"gender": "M"}},
        },
    )
    crowd = [v for v in discover_voices() if v.name.startswith("en_US-crowd-medium")]
    assert [(v.name, v.speaker_id, v.gender) for v in crowd] == [
        ("en_US-crowd-medium#12", 0, "male"),
        ("en_US-crowd-medium#p7", 1, "unknown"),
        ("en_US-crowd-medium#anna", 2, "female"),
    ]


def test_multi_speaker_without_map_uses_numbers(isolated: Path) -> None:
    _write_model(isolated / "voices", "many", {"num_speakers": 2})
    names = [v.name for v in discover_voices() if v.name.startswith("many")]
    assert names == ["many#0", "many#1"]


def test_find_voice() -> None:
    voices = bundled_voices()
    assert find_voice("joe-high", voices).pitch > 0
    assert find_voice("JOE-Deep", voices).name == "joe-deep"
    with pytest.raises(VoiceError) as info:
        find_voice("nobody", voices)
    msg = str(info.value)
    assert "unknown voice 'nobody'" in msg and "joe" in msg and "joe-deep" in msg


def test_light_modules_do_not_import_onnxruntime() -> None:
    code = (
        "import sys, audiobook.voices, audiobook.synth, audiobook.assemble, audiobook.export\n"
        "bad = [m for m in ('onnxruntime', 'piper') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
