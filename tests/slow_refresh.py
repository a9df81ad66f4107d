"""Run the real `radrag` CLI with a fake embedder that can stall at a chosen step.

Used by the crash-safety test: RADRAG_TEST_STALL names the step to stall at ("embed" or
"publish"); on reaching it the script touches RADRAG_TEST_MARKER and sleeps, so the
test can SIGKILL it there. This hook exists only in the test tree.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import rag.cli.kb
import rag.kb.refresh
from rag.cli import app
from tests.fakes import HashEmbedder

STALL = os.environ.get("RADRAG_TEST_STALL", "")


def _stall(step: str) -> None:
    if step == STALL:
        Path(os.environ["RADRAG_TEST_MARKER"]).write_text(step)
        time.sleep(600)


class StallingEmbedder(HashEmbedder):
    """The HashEmbedder, stalling on its first call when asked to."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Stall (if configured), then embed."""
        _stall("embed")
        return super().embed(texts)


_publish = rag.kb.refresh.publish


def _stalling_publish(root: Path, version: str) -> None:
    _stall("publish")
    _publish(root, version)


rag.cli.kb.make_embedder = lambda settings: StallingEmbedder()
rag.kb.refresh.publish = _stalling_publish

if __name__ == "__main__":
    sys.exit(app(["kb", *sys.argv[1:]]))
