"""Voice discovery, variants, levelling of unmeasured voices, and `audiobook voices`.

A tiny but real Piper-shaped ONNX model is written by hand in ``tiny_model`` (protobuf
wire format, no onnx package needed): it loads in onnxruntime, exposes speakers and
"speaks" a tone per phoneme, so multi-speaker discovery, synthesis, levelling, preview
and install are all tested on a real model in milliseconds.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import subprocess
import sys
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from audiobook import engine as engine_mod
from audiobook.cli import main
from audiobook.engine import REFERENCE_TEXT, VOICE_LUFS, PiperEngine, levels_path, loudness
from audiobook.errors import VoiceError
from audiobook.voicecmd import InstallError, install
from audiobook.voices import (
    BUNDLED_GAIN_DB,
    DEFAULT_VOICE,
    VARIANT_RECIPES,
    Voice,
    bundled_voices,
    discover_voices,
    find_voice,
    user_voice_dir,
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


def _apart(a: Voice, b: Voice) -> bool:
    """The issue's bar for two voices of one gender: 1.5 semitones of median pitch or
    5% of formants (pitch as designed; the benchmark checks the measured one)."""
    pitch = abs(12 * math.log2((a.f0 or 89.0) / (b.f0 or 89.0)))
    return pitch >= 1.5 or abs(a.formant_ratio / b.formant_ratio - 1) >= 0.05 - 1e-9


def test_bundled_joe_and_the_voices_made_from_him() -> None:
    voices = bundled_voices()
    names = [v.name for v in voices]
    assert names[0] == DEFAULT_VOICE == "joe"
    assert len(names) == len(set(names)) >= 8
    joe = voices[0]
    assert joe.model.is_file() and joe.config.is_file() and not joe.made
    assert joe.gender == "male" and joe.sample_rate == 22050 and joe.source == "bundled"
    women = [v for v in voices if v.gender == "female"]
    men = [v for v in voices if v.gender == "male"]
    assert len(women) >= 4 and len(men) >= 4 and len(women) + len(men) == len(voices)
    for v in women:  # women's pitch, and a vocal tract 10-22% smaller than joe's
        assert v.f0 is not None and 175 <= v.f0 <= 240 and 1.10 <= round(v.formant_ratio, 3) <= 1.22
    for v in men[1:]:
        assert v.f0 is not None and 75 <= v.f0 <= 140 and 0.90 <= round(v.formant_ratio, 3) <= 1.05
    for group in (women, men):
        assert all(_apart(a, b) for a, b in itertools.combinations(group, 2))
    assert all(0.8 <= v.tempo <= 1.2 for v in voices)
    # every bundled voice carries its offline-measured level correction
    assert set(BUNDLED_GAIN_DB) == {""} | {r.suffix for r in VARIANT_RECIPES}
    assert all(v.gain_db is not None and -12 < v.gain_db < 0 for v in voices)
    # what a listener hears, said plainly
    assert all(v.description.startswith("US English female, made from joe: ") for v in women)
    assert joe.description.startswith("US English male")


def test_retired_voices_still_resolve_to_their_successor(caplog: pytest.LogCaptureFixture) -> None:
    voices = bundled_voices()
    with caplog.at_level(logging.WARNING, logger="audiobook.voices"):
        airy = find_voice("joe-airy", voices)
    assert airy.name == "joe-clear" and "joe-airy is no longer made" in caplog.text
    assert find_voice("JOE-LOW", voices).name == "joe-deep"
    with pytest.raises(VoiceError, match="unknown voice 'joe-nobody'"):
        find_voice("joe-nobody", voices)


def test_made_voices_of_user_models(tmp_path: Path) -> None:
    """A man's (or unknown) model gets the same recipes as joe; a woman's gets none:
    they start from a man's voice."""
    male = Voice(
        "en_GB-x-medium", tmp_path / "x.onnx", tmp_path / "x.json", gender="male", language="en_GB"
    )
    made = variants_of(male)
    assert [v.name.removeprefix("en_GB-x-medium-") for v in made] == [
        r.suffix for r in VARIANT_RECIPES
    ]
    assert all(v.model == male.model and v.made and v.gain_db is None for v in made)
    assert made[0].description.startswith("British English male, made from en_GB-x-medium: ")
    assert variants_of(replace(male, gender="female")) == []


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
    assert "joe" in voices and "joe-clear" in voices


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
    assert find_voice("joe-clear", voices).pitch > 0
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


def test_voices_toml_sets_gender_where_metadata_has_none(isolated: Path) -> None:
    folder = isolated / "voices"
    _write_model(folder, "en_US-plain-medium")
    _write_model(folder, "crowd", {"num_speakers": 2, "speaker_id_map": {"a": 0, "b": 1}})
    (folder / "voices.toml").write_text(
        '[gender]\n"en_US-plain-medium" = "female"\n"crowd#b" = "M"\n"crowd#a" = "robot"\n',
        encoding="utf-8",
    )
    voices = {v.name: v for v in discover_voices()}
    assert voices["en_US-plain-medium"].gender == "female"
    # the recipes start from a man's voice: a woman's model gets none of them
    assert not [name for name in voices if name.startswith("en_US-plain-medium-")]
    assert voices["crowd#b"].gender == "male" and voices["crowd#a"].gender == "unknown"
    assert "crowd#b-high" not in voices  # many speakers are variety enough


# --- a tiny real Piper model --------------------------------------------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _msg(field: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(field << 3 | 2) + _varint(len(data)) + data


_FLOAT, _INT64 = 1, 7  # onnx TensorProto data types


def _tensor(name: str, arr: np.ndarray) -> bytes:
    dtype = _FLOAT if arr.dtype.kind == "f" else _INT64
    raw = arr.astype("<f4" if dtype == _FLOAT else "<i8").tobytes()
    dims = b"".join(_int(1, d) for d in arr.shape)
    return dims + _int(2, dtype) + _msg(8, name) + _msg(9, raw)


def _value(name: str, elem: int, dims: list[int | str]) -> bytes:
    shape = b"".join(_msg(1, _msg(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    return _msg(1, name) + _msg(2, _msg(1, _int(1, elem) + _msg(2, shape)))


def _node(op: str, inputs: list[str], outputs: list[str], **ints: int) -> bytes:
    attrs = b"".join(_msg(5, _msg(1, k) + _int(3, v) + _int(20, 2)) for k, v in ints.items())
    ins = b"".join(_msg(1, i) for i in inputs) + b"".join(_msg(2, o) for o in outputs)
    return ins + _msg(4, op) + attrs


TINY_AMPLITUDE = 0.02


def tiny_model(speakers: int) -> bytes:
    """A Piper-shaped ONNX model (inputs ``input``, ``input_lengths``, ``scales`` and,
    with several speakers, ``sid``): 256 samples of tone per phoneme id; speaker s sings
    at (s+1) * rate/128 Hz with amplitude TINY_AMPLITUDE * (s+1)**2, so speakers differ
    in pitch and (by 19 dB) in level."""
    init = [
        _tensor("zero", np.array(0.0, np.float32)),
        _tensor("one", np.array(1.0, np.float32)),
        _tensor("amp", np.array(TINY_AMPLITUDE, np.float32)),
        _tensor("phase", (2 * np.pi / 128 * np.arange(256, dtype=np.float32)).reshape(1, 1, -1)),
        _tensor("shape3", np.array([1, -1, 1], np.int64)),
        _tensor("shape_out", np.array([1, 1, -1], np.int64)),
    ]
    nodes = [
        _node("Cast", ["input"], ["ids"], to=_FLOAT),
        _node("Mul", ["ids", "zero"], ["zeros"]),
        _node("Add", ["zeros", "one"], ["ones"]),
        _node("Reshape", ["ones", "shape3"], ["ones3"]),
    ]
    inputs = [
        _value("input", _INT64, [1, "phonemes"]),
        _value("input_lengths", _INT64, [1]),
        _value("scales", _FLOAT, [3]),
    ]
    if speakers > 1:
        inputs.append(_value("sid", _INT64, [1]))
        nodes += [
            _node("Cast", ["sid"], ["sid_f"], to=_FLOAT),
            _node("Add", ["sid_f", "one"], ["sp"]),
        ]
    else:
        init.append(_tensor("sp", np.array([1.0], np.float32)))
    nodes += [
        _node("Mul", ["sp", "phase"], ["ph"]),
        _node("Sin", ["ph"], ["wave"]),
        _node("Mul", ["sp", "sp"], ["sp2"]),
        _node("Mul", ["sp2", "amp"], ["gain"]),
        _node("Mul", ["wave", "gain"], ["block"]),
        _node("Mul", ["ones3", "block"], ["tiled"]),
        _node("Reshape", ["tiled", "shape_out"], ["output"]),
    ]
    graph = (
        b"".join(_msg(1, n) for n in nodes)
        + _msg(2, "tiny")
        + b"".join(_msg(5, t) for t in init)
        + b"".join(_msg(11, v) for v in inputs)
        + _msg(12, _value("output", _FLOAT, [1, 1, "samples"]))
    )
    opset = _msg(8, _msg(1, "") + _int(2, 13))
    return _int(1, 8) + opset + _msg(2, "audiobook-tests") + _msg(7, graph)


def write_tiny_voice(folder: Path, stem: str, speakers: int = 1) -> Path:
    """``stem.onnx`` + ``stem.onnx.json`` (joe's phoneme map, so Piper can phonemize)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{stem}.onnx"
    model.write_bytes(tiny_model(speakers))
    cfg = json.loads(bundled_voices()[0].config.read_text(encoding="utf-8"))
    cfg.update(num_speakers=speakers, dataset=stem)
    del cfg["language"]  # so the language comes from the name, as for many user voices
    cfg["audio"] = {"sample_rate": 22050, "quality": "x_low"}
    cfg["speaker_id_map"] = {n: i for i, n in enumerate(["ann", "bo", "cy"][:speakers])}
    if speakers == 1:
        cfg["speaker_id_map"] = {}
    (folder / f"{stem}.onnx.json").write_text(json.dumps(cfg), encoding="utf-8")
    return model


def dominant_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / pcm.size)


def test_tiny_multi_speaker_model_exposes_and_speaks_its_speakers(isolated: Path) -> None:
    write_tiny_voice(isolated / "voices", "en_US-tiny-x_low", speakers=3)
    tiny = [v for v in discover_voices() if v.model.name == "en_US-tiny-x_low.onnx"]
    assert [(v.name, v.speaker_id) for v in tiny] == [
        ("en_US-tiny-x_low#ann", 0),
        ("en_US-tiny-x_low#bo", 1),
        ("en_US-tiny-x_low#cy", 2),
    ]
    assert all(v.quality == "x_low" and v.source == "voices/" for v in tiny)
    engine = PiperEngine()
    for k, voice in enumerate(tiny):
        pcm = engine.synthesize("Hello there.", voice)
        assert pcm.dtype == np.int16 and pcm.size > 1000
        assert dominant_hz(pcm, 22050) == pytest.approx((k + 1) * 22050 / 128, rel=0.02)


def test_unmeasured_voices_are_levelled_to_the_narrator_and_remembered(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(isolated / "cache"))
    monkeypatch.setattr(engine_mod, "_LEVELS", {})
    write_tiny_voice(isolated / "voices", "tiny", speakers=3)
    tiny = [v for v in discover_voices() if v.name.startswith("tiny#")]
    engine = PiperEngine()
    raw = [loudness(engine.synthesize_float(REFERENCE_TEXT, v), 22050) for v in tiny]
    assert raw[2] - raw[0] > 15  # the speakers really differ in level...
    for v in tiny:  # ...and are levelled like every voice, however quiet or loud
        pcm = engine.synthesize(REFERENCE_TEXT, v)
        assert loudness(pcm / 32768, 22050) == pytest.approx(VOICE_LUFS, abs=1.0)
    stored = json.loads(levels_path().read_text(encoding="utf-8"))
    assert len(stored) == 3
    # A new process reads the stored level instead of measuring again.
    key = engine_mod.level_key(tiny[0])
    stored[key] += 6.0
    levels_path().write_text(json.dumps(stored), encoding="utf-8")
    monkeypatch.setattr(engine_mod, "_LEVELS", {})
    louder = PiperEngine().synthesize(REFERENCE_TEXT, tiny[0])
    assert loudness(louder / 32768, 22050) == pytest.approx(VOICE_LUFS + 6.0, abs=0.5)


def _median_f0(pcm: np.ndarray, rate: int) -> float:
    import parselmouth

    sound = parselmouth.Sound(pcm.astype(np.float64) / 32768, sampling_frequency=rate)
    f0 = sound.to_pitch_ac(pitch_floor=60.0, pitch_ceiling=500.0).selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


def test_made_voices_of_a_tiny_voice_sing_at_their_median_pitch(isolated: Path) -> None:
    write_tiny_voice(isolated / "voices", "solo")
    voices = {v.name: v for v in discover_voices()}
    engine = PiperEngine()
    base = engine.synthesize("A line to say.", voices["solo"])
    assert dominant_hz(base, 22050) == pytest.approx(22050 / 128, rel=0.02)
    for name in ("solo-clear", "solo-alto"):
        made = engine.synthesize("A line to say.", voices[name])
        assert _median_f0(made, 22050) == pytest.approx(voices[name].f0, rel=0.03), name


def test_retune_moves_the_median_pitch_and_keeps_the_length() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    hz = 100 * (1 + 0.1 * np.sin(2 * np.pi * 2 * t))  # a gliding buzz, harmonics to 3 kHz
    phase = 2 * np.pi * np.cumsum(hz) / rate
    buzz = sum(np.sin(k * phase) / k for k in range(1, 30)).astype(np.float32) * 0.2
    moved = engine_mod.retune(buzz, rate, 200.0)
    assert moved.size == buzz.size and moved.dtype == np.float32
    assert _median_f0((moved * 32768).astype(np.int16), rate) == pytest.approx(200, rel=0.03)
    short = buzz[:500]  # too short to find a pitch in: left as it is
    assert np.array_equal(engine_mod.retune(short, rate, 200.0), short)


# --- audiobook voices ---------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def test_voices_json_lists_at_least_eight_voices(isolated: Path) -> None:
    code, out, _ = run("voices", "--json")
    assert code == 0
    listed = json.loads(out)
    names = [v["name"] for v in listed]
    assert len(names) == len(set(names)) >= 8
    assert names[0] == "joe" and {"joe-deep", "joe-clear", "joe-alto"} <= set(names)
    joe = listed[0]
    assert joe["gender"] == "male" and joe["sample_rate"] == 22050 and joe["source"] == "bundled"
    alto = listed[names.index("joe-alto")]
    assert alto["gender"] == "female" and alto["description"].startswith("US English female")
    assert 175 <= alto["f0"] <= 240 and 1.10 <= alto["formant_ratio"] <= 1.22
    assert all(isinstance(v["gain_db"], float) for v in listed)
    code, text, _ = run("voices")  # the plain list stays the default
    assert code == 0 and text.splitlines()[0].startswith("joe ")
    assert run("voices", "list", "--json")[1] == out


def test_voices_json_lists_a_voice_dir(isolated: Path) -> None:
    write_tiny_voice(isolated / "elsewhere", "crowd", speakers=2)
    code, out, _ = run("voices", "--json", "--voice-dir", str(isolated / "elsewhere"))
    assert code == 0
    crowd = [v for v in json.loads(out) if v["name"].startswith("crowd")]
    assert [(v["name"], v["speaker_id"]) for v in crowd] == [("crowd#ann", 0), ("crowd#bo", 1)]
    assert run("voices", "list", "--json", "--voice-dir", str(isolated / "elsewhere"))[1] == out
    assert "crowd#ann" not in run("voices", "--json")[1]
    # the group's --voice-dir reaches the subcommands too
    wav = isolated / "ann.wav"
    code, _, err = run(
        "voices", "--voice-dir", str(isolated / "elsewhere"), "preview", "crowd#ann", "Hi.",
        "-o", str(wav),
    )  # fmt: skip
    assert code == 0 and wav.is_file(), err


def test_preview_writes_a_wav(isolated: Path) -> None:
    write_tiny_voice(isolated / "voices", "en_US-tiny-x_low", speakers=2)
    out = isolated / "bo.wav"
    code, text, err = run("voices", "preview", "en_US-tiny-x_low#bo", "Hello, Bo.", "-o", str(out))
    assert code == 0, err
    assert "en_US-tiny-x_low#bo" in text and str(out) in text
    with wave.open(str(out)) as w:
        assert w.getframerate() == 22050 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert pcm.size > 2000 and np.abs(pcm).max() > 300
    assert dominant_hz(pcm, 22050) == pytest.approx(2 * 22050 / 128, rel=0.02)


def test_preview_of_unknown_voice_is_one_clear_line(isolated: Path) -> None:
    code, _, err = run("voices", "preview", "nobody", "Hi.", "-o", str(isolated / "x.wav"))
    assert code == 1
    assert err.strip().count("\n") == 0 and "unknown voice 'nobody'" in err
    assert not (isolated / "x.wav").exists()


def test_install_copies_a_voice_into_the_user_library(isolated: Path) -> None:
    model = write_tiny_voice(isolated / "downloads", "en_GB-tiny-x_low")
    code, text, err = run("voices", "install", str(model))
    assert code == 0, err
    dest = user_voice_dir()
    assert (dest / "en_GB-tiny-x_low.onnx").read_bytes() == model.read_bytes()
    assert (dest / "en_GB-tiny-x_low.onnx.json").is_file()
    assert "en_GB-tiny-x_low" in text
    assert not list(dest.glob(".*part"))
    listed = {v["name"]: v for v in json.loads(run("voices", "--json")[1])}
    assert listed["en_GB-tiny-x_low"]["source"] == "user"
    assert listed["en_GB-tiny-x_low"]["language"] == "en_GB"
    assert "en_GB-tiny-x_low-clear" in listed
    # the same files again: nothing to do; different ones under the name: refused
    code, text, _ = run("voices", "install", str(model.with_name(model.name + ".json")))
    assert code == 0 and "already installed" in text
    model.write_bytes(tiny_model(2))
    code, _, err = run("voices", "install", str(model))
    assert code == 1 and "--force" in err
    assert run("voices", "install", "--force", str(model))[0] == 0
    assert (dest / "en_GB-tiny-x_low.onnx").read_bytes() == model.read_bytes()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"lonely.onnx": b"\x08\x08"}, "lonely.onnx.json is missing"),
        ({"junk.onnx": b"PK\x03\x04", "junk.onnx.json": b"{}"}, "not an ONNX model"),
        ({"bad.onnx": b"\x08\x08", "bad.onnx.json": b"{ no"}, "not a valid Piper voice"),
        ({"notes.txt": b"hi"}, "NAME.onnx file with NAME.onnx.json"),
    ],
)
def test_install_refuses_what_is_not_a_voice(
    isolated: Path, files: dict[str, bytes], message: str
) -> None:
    for name, data in files.items():
        (isolated / name).write_bytes(data)
    code, _, err = run("voices", "install", str(isolated / next(iter(files))))
    assert code == 1 and message in err and err.strip().count("\n") == 0
    assert not user_voice_dir().exists() or not list(user_voice_dir().iterdir())


def test_install_by_name_offline_fails_with_one_clear_line(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 9 (discard) on loopback: refused at once, the way an offline machine fails.
    monkeypatch.setenv("AUDIOBOOK_PIPER_VOICES_URL", "http://127.0.0.1:9/piper-voices")
    code, out, err = run("voices", "install", "en_US-lessac-medium")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "cannot download voice 'en_US-lessac-medium'" in lines[0]
    assert "no connection" in lines[0] and "voices install PATH" in lines[0]
    assert not user_voice_dir().exists() or not list(user_voice_dir().rglob("*.onnx*"))
    code, _, err = run("voices", "install", "lessac")
    assert code == 1 and "neither a file nor a Piper voice name" in err


def test_install_by_name_downloads_from_the_repository_layout(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = isolated / "mirror"
    write_tiny_voice(repo / "en" / "en_US" / "tiny" / "x_low", "en_US-tiny-x_low", speakers=2)
    monkeypatch.setenv("AUDIOBOOK_PIPER_VOICES_URL", repo.as_uri())
    done = install("en_US-tiny-x_low")
    assert [v.name for v in done.voices] == ["en_US-tiny-x_low#ann", "en_US-tiny-x_low#bo"]
    assert (user_voice_dir() / "en_US-tiny-x_low.onnx").is_file()
    with pytest.raises(InstallError, match="has no voice 'en_US-nobody-low'"):
        install("en_US-nobody-low")  # file:// says "not found" like a 404


def test_install_a_folder_of_voices(isolated: Path) -> None:
    folder = isolated / "downloads"
    write_tiny_voice(folder, "en_US-one-low")
    write_tiny_voice(folder, "en_US-two-low", speakers=2)
    done = install(str(folder))
    assert {v.name for v in done.voices} >= {"en_US-one-low", "en_US-two-low#bo"}
    assert sorted(p.name for p in user_voice_dir().glob("*.onnx")) == [
        "en_US-one-low.onnx",
        "en_US-two-low.onnx",
    ]
    with pytest.raises(InstallError, match=r"no \.onnx voices"):
        install(str(isolated / "xdg"))
