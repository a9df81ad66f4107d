"""One run at a time per output folder: an exclusive, non-blocking lock on `<out>/.lock`.

Two runs appending to one cases.jsonl would interleave lines of different runs and race
on results.json; the second run is refused at once instead. The lock is an flock, so the
kernel releases it when its process dies (no stale lock to clean up after a crash).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".lock"

_held: set[Path] = set()  # folders this process holds: nested use (CLI around run) is fine
_guard = threading.Lock()


class RunConflict(RuntimeError):
    """The output folder holds a run with another configuration, or another run is writing."""


@contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold `out_dir` for this process; raise RunConflict when another process holds it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key = out_dir.resolve()
    with _guard:
        if key in _held:
            nested = True
        else:
            nested = False
            _held.add(key)
    if nested:
        yield
        return
    fh = (out_dir / LOCK_FILE).open("a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            who = fh.read().strip() or "?"
            raise RunConflict(
                f"{out_dir} is in use by another run (pid {who}); wait for it or use another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        with _guard:
            _held.discard(key)
        fh.close()  # closing the file releases the flock
