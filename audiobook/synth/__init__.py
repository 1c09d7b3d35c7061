"""Synthesis: lines of text in voices -> audio in a content-addressed cache.

``jobs`` says what to make and how errors travel, ``cache`` keeps the audio, ``plan``
is one call's bookkeeping, ``backend`` what runs it: ``local`` (a process pool) or
``dask`` (a cluster, reached through ``scheduler``); ``run.synthesize`` ties them.
"""

from audiobook.synth.cache import AudioCache, default_cache_dir
from audiobook.synth.jobs import (
    FollowUp,
    SynthContext,
    SynthJob,
    SynthProgress,
    job_key,
    job_keys,
)
from audiobook.synth.run import synthesize

__all__ = [
    "AudioCache",
    "FollowUp",
    "SynthContext",
    "SynthJob",
    "SynthProgress",
    "default_cache_dir",
    "job_key",
    "job_keys",
    "synthesize",
]
