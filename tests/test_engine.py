from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from audiobook.engine import (
    KEEP_EDGE_SECONDS,
    PEAK_LIMIT,
    REFERENCE_TEXT,
    VOICE_LUFS,
    PiperEngine,
    ToneEngine,
    get_engine,
    loudness,
    pitch_ratio,
    shift_pitch,
    to_int16,
    trim_silence,
)
from audiobook.errors import AudiobookError, VoiceError
from audiobook.voices import Voice, bundled_voices, find_voice

RATE = 22050


def fake_voice(tmp_path: Path, **kw: object) -> Voice:
    return replace(Voice("fake", tmp_path / "fake.onnx", tmp_path / "fake.onnx.json"), **kw)  # type: ignore[arg-type]


def zero_crossing_hz(pcm: np.ndarray, rate: int) -> float:
    x = pcm[pcm != 0].astype(np.float64)  # word gaps are exact zeros
    crossings = np.count_nonzero(np.diff(np.signbit(x)))
    return crossings / 2 / (x.size / rate)


def yin_median_f0(pcm: np.ndarray, rate: int, fmin: float = 60, fmax: float = 400) -> float:
    """Median pitch of voiced frames (YIN difference function, first dip < 0.2)."""
    x = pcm.astype(np.float64) / 32768
    n, hop = 2048, 256
    tmin, tmax = int(rate / fmax), int(rate / fmin)
    w = n - tmax
    found = []
    for i in range(0, x.size - n, hop):
        frame = x[i : i + n]
        if np.sqrt(np.mean(frame[:w] ** 2)) < 0.02:
            continue
        d = np.array([np.sum((frame[:w] - frame[t : t + w]) ** 2) for t in range(1, tmax + 1)])
        cmnd = d * np.arange(1, tmax + 1) / np.maximum(np.cumsum(d), 1e-12)
        dips = np.flatnonzero(cmnd[tmin - 1 :] < 0.2)
        if dips.size:
            t = tmin - 1 + int(dips[0])
            while t + 1 < tmax and cmnd[t + 1] < cmnd[t]:
                t += 1
            found.append(rate / (t + 1))
    assert len(found) >= 5, "too few voiced frames to estimate pitch"
    return float(np.median(found))


# --- ToneEngine ---------------------------------------------------------------


def test_tone_length_follows_characters(tmp_path: Path) -> None:
    eng = ToneEngine()
    voice = fake_voice(tmp_path)
    text = "a tone for every word"
    pcm = eng.synthesize(text, voice)
    assert pcm.dtype == np.int16
    assert len(pcm) / RATE == pytest.approx(0.055 * len(text), abs=0.01)
    # the gaps between words are digital silence
    gap_start = round(0.055 * RATE) + 10
    assert not pcm[gap_start : gap_start + 100].any()
    fast = eng.synthesize(text, replace(voice, tempo=2.0))
    assert len(fast) == pytest.approx(len(pcm) / 2, rel=0.01)


def test_tone_frequency_follows_pitch_and_is_deterministic(tmp_path: Path) -> None:
    eng = ToneEngine()
    low = eng.synthesize("hello there", fake_voice(tmp_path))
    high = eng.synthesize("hello there", fake_voice(tmp_path, pitch=12.0))
    assert zero_crossing_hz(low, RATE) == pytest.approx(180, rel=0.03)
    assert zero_crossing_hz(high, RATE) == pytest.approx(360, rel=0.03)
    assert np.array_equal(low, eng.synthesize("hello there", fake_voice(tmp_path)))
    assert eng.sample_rate(fake_voice(tmp_path, sample_rate=16000)) == 16000


@pytest.mark.parametrize("text", ["", "   ", "...", "— — !", "\n\n"])
def test_unspeakable_text_gives_empty_audio(tmp_path: Path, text: str) -> None:
    pcm = ToneEngine().synthesize(text, fake_voice(tmp_path))
    assert pcm.dtype == np.int16 and pcm.size == 0


def test_get_engine() -> None:
    assert get_engine("tone").name == "tone"
    piper = get_engine("piper")
    assert piper.name == "piper" and "piper-tts" in piper.version()
    with pytest.raises(AudiobookError, match="unknown engine 'espeak'"):
        get_engine("espeak")


# --- signal helpers -----------------------------------------------------------


def test_trim_silence_keeps_short_edges() -> None:
    sound = np.full(1000, 0.5, dtype=np.float32)
    x = np.concatenate([np.zeros(RATE), sound, np.zeros(RATE)]).astype(np.float32)
    trimmed = trim_silence(x, RATE)
    pad = round(KEEP_EDGE_SECONDS * RATE)
    assert trimmed.size == 1000 + 2 * pad
    assert trim_silence(np.zeros(500, np.float32), RATE).size == 0


def test_shift_pitch_keeps_length_of_stretched_audio() -> None:
    ratio = pitch_ratio(4.0)
    assert float(ratio) == pytest.approx(2 ** (4 / 12), rel=1e-3)
    n = round(RATE * float(ratio))  # one second synthesized "ratio" times longer
    tone = np.sin(2 * np.pi * 100 / RATE * np.arange(n)).astype(np.float32)
    out = shift_pitch(tone, ratio)
    assert out.size == pytest.approx(RATE, abs=3)
    hz = zero_crossing_hz(to_int16(out), RATE)
    assert hz == pytest.approx(100 * float(ratio), rel=0.02)


def test_to_int16_never_clips() -> None:
    loud = np.array([0.0, 1.7, -2.5, 0.3], dtype=np.float32)
    pcm = to_int16(loud)
    assert np.abs(pcm.astype(int)).max() < 32767
    assert pcm[2] < pcm[0] < pcm[3] < pcm[1]


# --- PiperEngine errors (no real model needed) -----------------------------------


def test_missing_model_is_voice_error(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="missing") as info:
        PiperEngine().synthesize("Hello.", fake_voice(tmp_path))
    assert info.value.path == tmp_path / "fake.onnx"


def test_corrupt_model_is_voice_error_naming_file(tmp_path: Path) -> None:
    joe = bundled_voices()[0]
    voice = fake_voice(tmp_path)
    voice.model.write_bytes(b"\x08\x01garbage, not an onnx graph" * 10)
    voice.config.write_text(joe.config.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(VoiceError, match="corrupt") as info:
        PiperEngine().synthesize("Hello.", voice)
    assert info.value.path == voice.model
    assert "fake.onnx" in str(info.value)


def test_bad_config_is_voice_error(tmp_path: Path) -> None:
    voice = fake_voice(tmp_path)
    voice.model.write_bytes(b"x")
    voice.config.write_text(json.dumps({"audio": {"sample_rate": 22050}}), encoding="utf-8")
    with pytest.raises(VoiceError, match="incomplete") as info:
        PiperEngine().synthesize("Hello.", voice)
    assert info.value.path == voice.config


# --- the real bundled voice (a few seconds in all) -------------------------------


@pytest.fixture(scope="module")
def piper() -> PiperEngine:
    return PiperEngine()


SENTENCE = "The lamp by the window flickered twice, and then the whole street went dark."


@pytest.mark.voice
def test_joe_speaks_a_sentence(piper: PiperEngine) -> None:
    joe = find_voice("joe", bundled_voices())
    pcm = piper.synthesize(SENTENCE, joe)
    seconds = len(pcm) / piper.sample_rate(joe)
    assert pcm.dtype == np.int16
    assert 2.5 < seconds < 8.0  # ~14 words
    peak = np.abs(pcm.astype(np.int32)).max()
    assert 1000 < peak < 32000  # audible, never clipped
    # edges trimmed to about 50 ms of near-silence
    edge = round(0.1 * 22050)
    assert np.abs(pcm[:edge].astype(np.int32)).max() > 300
    assert piper.synthesize("...", joe).size == 0


@pytest.mark.voice
def test_joe_runs_on_a_prepared_copy_of_its_model(piper: PiperEngine) -> None:
    """The speed-up is silent by design (it falls back on any doubt): make sure the
    bundled voice really takes it, blocked layout and fused sums included."""
    import onnx

    from audiobook import fastmodel

    joe = find_voice("joe", bundled_voices())
    piper.load(joe)
    copy = fastmodel.fast_path(joe.model, fastmodel.models_dir())
    assert copy.is_file(), list(fastmodel.models_dir().iterdir())
    nodes = onnx.load(str(copy), load_external_data=False).graph.node
    blocked = [n for n in nodes if n.domain == "com.microsoft.nchwc" and n.op_type == "Conv"]
    assert len(blocked) > 100
    assert sum(len(n.input) == 4 for n in blocked) >= 18  # every decoder residual add


@pytest.mark.voice
def test_joe_variants_differ_in_pitch_not_length(piper: PiperEngine) -> None:
    voices = bundled_voices()
    v_high, v_deep = find_voice("joe-clear", voices), find_voice("joe-deep", voices)
    high, deep = piper.synthesize(SENTENCE, v_high), piper.synthesize(SENTENCE, v_deep)
    # the pitch shift must not change the length (beyond the variants' own tempo)
    assert len(high) * v_high.tempo == pytest.approx(len(deep) * v_deep.tempo, rel=0.15)
    f_high, f_deep = yin_median_f0(high, 22050), yin_median_f0(deep, 22050)
    # 205 Hz against 78 Hz (x2.6); Piper's own prosody varies from run to run
    assert f_high / f_deep > 2.0


@pytest.mark.voice
def test_speed_shortens_real_speech_in_proportion(piper: PiperEngine) -> None:
    """Piper's length scale, corrected for the part of it that does not scale: 1.25
    times the speed is 80% of the length (Piper's prosody varies a little per run)."""
    joe = bundled_voices()[0]
    plain = piper.synthesize(SENTENCE, joe)
    fast = piper.synthesize(SENTENCE, replace(joe, tempo=1.25))
    assert len(fast) / len(plain) == pytest.approx(0.8, abs=0.05)


@pytest.mark.voice
def test_joe_variants_are_as_loud_as_the_narrator(piper: PiperEngine) -> None:
    """Switching speakers never jumps: each voice within 1 LU of the narrator (joe),
    on a sentence other than the reference text the gains were measured on."""
    voices = bundled_voices()
    levels = {}
    # three sentences in one line: a single sentence's level varies ~1 LU from run to run
    text = f"{SENTENCE} Nobody answered the door. Are you sure the lamp was lit?"
    for name in ("joe", "joe-deep", "joe-clear"):  # the extremes of the range
        pcm = piper.synthesize(text, find_voice(name, voices))
        assert np.abs(pcm.astype(np.int32)).max() < PEAK_LIMIT * 32767  # never limited
        levels[name] = loudness(pcm / 32768, 22050)
    reference = loudness(piper.synthesize(REFERENCE_TEXT, voices[0]) / 32768, 22050)
    assert reference == pytest.approx(VOICE_LUFS, abs=0.6)  # the calibration holds
    assert levels["joe-deep"] == pytest.approx(levels["joe"], abs=1.0)
    assert levels["joe-clear"] == pytest.approx(levels["joe"], abs=1.0)


def test_loudness_of_silence_and_short_audio_is_minus_infinity() -> None:
    assert loudness(np.zeros(RATE, np.float32), RATE) == float("-inf")
    tone = 0.1 * np.sin(np.arange(RATE // 10) * 0.1).astype(np.float32)
    assert loudness(tone, RATE) == float("-inf")  # shorter than one 400 ms block
    longer = 0.1 * np.sin(np.arange(RATE) * 2 * np.pi * 1000 / RATE)
    assert loudness(longer, RATE) == pytest.approx(-23.0, abs=0.5)  # 1 kHz at -23 dBFS rms


def test_piper_sample_rate_comes_from_the_model_config(tmp_path: Path) -> None:
    voice = fake_voice(tmp_path)  # Voice default says 22050
    voice.config.write_text(json.dumps({"audio": {"sample_rate": 16000}}), encoding="utf-8")
    assert PiperEngine().sample_rate(voice) == 16000
    assert PiperEngine().sample_rate(fake_voice(tmp_path / "none")) == 22050


def test_long_sentences_are_cut_at_clause_marks_then_words() -> None:
    from audiobook.engine import split_phonemes

    clause = list("ðə kˈiːpɚ wˈɔːkt ɐlˈɑːŋ ðə wˈɔːl, ")
    sentence = clause * 12 + list("ænd stˈɑːpt.")
    pieces = split_phonemes(sentence, limit=100)
    assert all(len(p) <= 100 for p in pieces)
    assert all("".join(p).rstrip().endswith(",") for p in pieces[:-1])  # cut after a mark
    joined = "".join("".join(p) for p in pieces).replace(" ", "")
    assert joined == "".join(sentence).replace(" ", "")  # nothing lost or added
    words = list("wˈʌn tˈuː θɹˈiː fˈɔːɹ ") * 20  # no clause mark at all: cut at words
    cut = split_phonemes(words, limit=50)
    assert all(len(p) <= 50 and "".join(p).endswith(" ") for p in cut[:-1])
    assert "".join("".join(p) for p in cut) == "".join(words)
    short = list("hˈaɪ.")
    assert split_phonemes(short, limit=100) == [short]


def test_drawn_out_variants_get_fewer_phonemes_per_call() -> None:
    """A call's memory follows the audio it makes: a variant synthesised slower (for a
    higher pitch, or a slower tempo) gets proportionally fewer phonemes, never fewer
    than MIN_PHONEMES; a quicker one no more than the plain voice."""
    from audiobook.engine import MAX_PHONEMES, MIN_PHONEMES, phoneme_limit

    assert phoneme_limit(1.0, 1.0) == MAX_PHONEMES
    assert phoneme_limit(0.8, 1.0) == MAX_PHONEMES
    doubled = phoneme_limit(2 * 1.0 + 0.35, 1.0)  # twice the plain voice's length
    assert doubled == MAX_PHONEMES // 2
    assert phoneme_limit(1.3, 1.0) < MAX_PHONEMES
    assert phoneme_limit(10.0, 1.0) == MIN_PHONEMES


def test_release_forgets_loaded_models_and_they_load_again() -> None:
    """Workers release after each chapter (onnxruntime's memory never shrinks
    otherwise); the next line loads the model afresh."""
    joe = bundled_voices()[0]
    engine = PiperEngine()
    first = engine.load(joe)
    assert engine.load(joe) is first  # cached
    engine.release()
    again = engine.load(joe)
    assert again is not first
    assert again.config.sample_rate == first.config.sample_rate
