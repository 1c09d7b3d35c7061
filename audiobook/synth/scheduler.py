"""Reaching a Dask scheduler named by ``--scheduler``: a running one, or a LocalCluster
started here. One client per scheduler per process, reused by every story of a library
and closed at exit.

``distributed`` is an optional extra: this module imports it only when used.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from audiobook.errors import AudiobookError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

log = logging.getLogger(__name__)

MISSING_EXTRA = "--scheduler requires the 'distributed' extra: pip install 'audiobook[distributed]'"

# How long a scheduler without workers is waited for before giving up.
WORKER_WAIT_SECONDS = 120.0
CONNECT_TIMEOUT_SECONDS = 15.0


def import_distributed() -> ModuleType:
    """The ``distributed`` package, or an ``AudiobookError`` saying how to get it."""
    try:
        import distributed
    except ImportError:
        raise AudiobookError(MISSING_EXTRA) from None
    return distributed


@dataclass(frozen=True)
class SchedulerSpec:
    """What ``--scheduler`` names: a running scheduler, or a LocalCluster to start."""

    address: str | None = None  # "tcp://host:port" (any Dask protocol)
    scheduler_file: Path | None = None  # the JSON file ``dask scheduler`` writes
    local_workers: int | None = None  # start a LocalCluster of this many processes

    @property
    def local(self) -> bool:
        return self.local_workers is not None


def parse_scheduler(spec: str) -> SchedulerSpec:
    """``tcp://HOST:PORT`` (or another Dask protocol), ``local``, ``local:N`` or the
    path of a scheduler file; anything else is an ``AudiobookError``."""
    text = spec.strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if not count:
            return SchedulerSpec(local_workers=os.cpu_count() or 1)
        if count.isdigit() and int(count) >= 1:
            return SchedulerSpec(local_workers=int(count))
        raise AudiobookError(f"bad --scheduler '{spec}': local:N needs a worker count N >= 1")
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme and rest:
            return SchedulerSpec(address=text)
    elif Path(text).is_file():
        return SchedulerSpec(scheduler_file=Path(text))
    raise AudiobookError(
        f"bad --scheduler '{spec}': expected tcp://HOST:PORT, local[:N] or a scheduler file"
    )


@dataclass
class _Session:
    client: Client
    cluster: Any = None  # the LocalCluster we started, closed with the client


_SESSIONS: dict[str, _Session] = {}
_SESSIONS_LOCK = threading.Lock()


def connect(spec: str) -> Client:
    """The client for ``spec``, made once per process and reused by every story of a
    library (a LocalCluster is started on first use and shut down at exit)."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(spec)
        if session is not None and session.client.status == "running":
            return session.client
        dist = import_distributed()
        parsed = parse_scheduler(spec)
        cluster = None
        try:
            if parsed.local_workers is not None:
                cluster = start_local_cluster(parsed.local_workers)
                client = dist.Client(cluster)
                _ignore_ctrl_c(dist, client)
            elif parsed.scheduler_file is not None:
                client = dist.Client(
                    scheduler_file=str(parsed.scheduler_file), timeout=CONNECT_TIMEOUT_SECONDS
                )
            else:
                client = dist.Client(parsed.address, timeout=CONNECT_TIMEOUT_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close()
            raise AudiobookError(f"cannot reach the Dask scheduler at {spec} ({exc})") from None
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise AudiobookError(
                f"the Dask scheduler at {spec} has no workers after "
                f"{WORKER_WAIT_SECONDS:.0f} s ({type(exc).__name__})"
            ) from None
        if not _SESSIONS:
            atexit.register(close_sessions)
        _SESSIONS[spec] = _Session(client, cluster)
        log.info("Dask scheduler %s: %d worker threads", spec, sum(client.nthreads().values()))
        return client


def start_local_cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` processes on loopback, one thread each: Piper runs
    best one thread per core, and the GIL would serialise the Python parts of a shared
    process."""
    dist = import_distributed()
    with _lean_local_workers():
        return dist.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # No dashboard, and its HTTP server on any free port, not 8787.
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        )


@contextlib.contextmanager
def _lean_local_workers() -> Iterator[None]:
    """Worker processes for a LocalCluster that cost less CPU on a small machine, where
    the workers share the cores with this process: forked from a server that imported
    Dask once (instead of each importing it), and without the statistical profiler
    that feeds Dask's dashboard (which we do not start)."""
    import dask

    settings: dict[str, Any] = {"distributed.worker.profile.enabled": False}
    if "forkserver" in multiprocessing.get_all_start_methods():
        settings["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(settings):
        yield


def _ignore_ctrl_c(dist: ModuleType, client: Client) -> None:
    """Ctrl-C reaches the LocalCluster's workers too (one process group): they leave it
    to this process, which cancels, keeps what is done and closes them, instead of
    dying with a traceback each. A plugin, so a replaced worker gets it too."""

    plugin_base: Any = dist.WorkerPlugin

    class IgnoreCtrlC(plugin_base):  # defined here: sent by value, needs no import
        def setup(self, worker: Any) -> None:
            import signal

            with contextlib.suppress(ValueError):  # only possible in a main thread
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    client.register_plugin(IgnoreCtrlC(), name="audiobook-ignore-ctrl-c")


def close_sessions() -> None:
    """Close every client (and LocalCluster) ``connect`` made; safe to call twice."""
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for s in sessions:
        with contextlib.suppress(Exception):
            s.client.close()
        if s.cluster is not None:
            with contextlib.suppress(Exception):
                s.cluster.close()


def machine_id() -> str:
    """This machine (this boot of it): workers with the client's id see its files."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        boot = f"{uuid.getnode():x}"
    return f"{socket.gethostname()}/{boot}"
