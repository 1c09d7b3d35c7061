"""Shared fixtures: stories written to tmp_path, an isolated cache, the example story."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"


@pytest.fixture(scope="session")
def _model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rewritten voice models (see audiobook.fastmodel), made once per test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _model_dir: Path) -> None:
    """No test reads or writes the user's real cache or voice folders."""
    monkeypatch.setenv("AUDIOBOOK_MODEL_DIR", str(_model_dir))
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("AUDIOBOOK_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def write_story(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "story.txt") -> Path:
        p = tmp_path / "stories" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    return write


@pytest.fixture
def weights_file(tmp_path: Path) -> Callable[..., Path]:
    """Writes an attribution weights table (as ``AUDIOBOOK_ATTRIBUTION_WEIGHTS`` reads
    it) and returns its path."""

    def write(data: object, name: str = "w.json") -> Path:
        p = tmp_path / name
        p.write_text(json.dumps(data), encoding="utf-8")
        return p

    return write


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy, so the sidecar a render writes stays out of the repo."""
    dest = tmp_path / "examples" / EXAMPLE.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE, dest)
    return dest
