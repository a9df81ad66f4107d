"""A Ray cluster for batch jobs: connect to RAY_ADDRESS, or start a local one on loopback.

Evaluation runs and knowledge-base refreshes hand work to Ray; this module is the only
place that starts or joins a cluster, so both behave the same way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class RayJobError(RuntimeError):
    """Ray could not start, or a worker failed to build or to run its part."""


@contextmanager
def ray_session(address: str | None = None) -> Iterator[None]:
    """Connect to a cluster (or start a local one) unless this process already is."""
    ray = import_ray(loopback=not address)
    if ray.is_initialized():
        yield
        return
    init_ray(address)
    try:
        yield
    finally:
        ray.shutdown()


def init_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """`ray.init` at `address`, or a local cluster (head and worker processes) on loopback."""
    ray = import_ray(loopback=not address)
    kwargs: dict[str, object] = {"log_to_driver": False, "logging_level": "ERROR"}
    env: dict[str, str] = {}
    if not address:
        # A local cluster for this process only: no dashboard, a small object store
        # (records are small), workers that import this checkout's `rag`.
        kwargs |= {
            "num_cpus": num_cpus,
            "include_dashboard": False,
            "object_store_memory": 100 * 1024**2,
        }
        # The workers get that environment by inheritance (the cluster's processes are
        # this one's children), not as a job runtime_env: with one, Ray starts a fresh
        # worker process for each actor instead of handing it one of the workers it
        # prestarts at init (measured on 2 idle cores: the actor began 1.7 s after its
        # request instead of 0.2 s, and the prestarted worker was started for nothing).
        env = _local_env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local cluster"
        raise RayJobError(f"cannot start Ray at {where}: {first_line(exc)}") from None
    finally:
        # The cluster's processes have their copy; this process's own stays as it was.
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def worker_shares(ray, wanted: int | None, items: int, cpus_each: float) -> tuple[int, float]:
    """How many actors to start (default: one per cluster CPU) and the CPUs each reserves.

    More actors than CPUs (LLM work waits on HTTP, not on a core) get a fractional share,
    so every one of them is scheduled instead of some waiting forever for a free CPU.
    """
    total = float(ray.cluster_resources().get("CPU", 1.0))
    n = max(1, min(wanted or int(total) or 1, items))
    return n, min(cpus_each, total / n)


def _local_env() -> dict[str, str]:
    """Environment a local cluster's workers need to import and run this checkout."""
    import rag

    root = os.path.dirname(os.path.dirname(os.path.abspath(rag.__file__)))
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = {"PYTHONPATH": path}
    for key in ("HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def first_line(exc: BaseException) -> str:
    """The line of an exception worth one CLI error line."""
    text = str(exc).strip().splitlines()
    # Ray wraps the worker's traceback; its last line names the real error.
    return (text[-1] if text else type(exc).__name__)[:300]


def import_ray(loopback: bool = False):
    """The ray module, imported on first use (local runs never load it)."""
    if loopback and "ray" not in sys.modules:
        # A one-machine cluster stays on 127.0.0.1: without this switch Ray binds and
        # advertises the address other nodes would use. Ray reads it once, at import.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a dependency; a stripped install lacks it
        raise RayJobError("--executor ray needs the `ray` package") from None
    return ray
