"""Deterministic fakes for unit tests (they implement the real ports)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from rag.domain import DraftSentence, Evidence, Finding, LabelSet, Passage, PassageKind
from rag.labeler import RuleLabeler, find_details


class HashEmbedder:
    """Bag-of-words hashed into a fixed space: similar wording gives similar vectors."""

    id = "hash-embedder@64"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts deterministically into unit vectors."""
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]+", t.lower()):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
            if not n:
                out[i, 0] = 1.0
        return out


class ScriptedGenerator:
    """Returns fixed sentences, to test what the guard does with bad drafts."""

    name = "scripted"

    def __init__(self, findings: list[DraftSentence], impression: list[DraftSentence]) -> None:
        self._f, self._i = findings, impression

    def generate(
        self,
        labels: LabelSet,
        evidence: dict[Finding, list[Evidence]],
        *,
        indication: str | None = None,
        prior_report: str | None = None,
    ) -> tuple[list[DraftSentence], list[DraftSentence]]:
        """Return the scripted sentences."""
        return list(self._f), list(self._i)


def sentence_passage(pid: str, text: str, kind: PassageKind = PassageKind.exemplar) -> Passage:
    """A passage tagged the way the KB build tags it."""
    return Passage(
        id=pid,
        text=text,
        kind=kind,
        source="test",
        tags=RuleLabeler().label(text),
        details=tuple(sorted({d.kind.value for d in find_details(text)})),
    )


def definition_passage(pid: str, text: str, *concerns: Finding) -> Passage:
    """A definition passage about some findings."""
    return Passage(id=pid, text=text, kind=PassageKind.definition, source="test", concerns=concerns)


TINY_CORPUS = [
    sentence_passage("ex-1", "The heart is enlarged."),
    sentence_passage("ex-2", "Mild cardiomegaly."),  # carries a size detail: never chosen
    sentence_passage("ex-3", "No pleural effusion or pneumothorax."),
    sentence_passage("ex-4", "Heart size is normal."),
    sentence_passage("ex-5", "Stable cardiomegaly compared to prior."),
    sentence_passage("ex-6", "Left pleural effusion."),
    sentence_passage("ex-7", "There is a pleural effusion."),
    sentence_passage("ex-8", "No focal consolidation."),
    sentence_passage("ex-9", "Possible pneumonia."),
    sentence_passage("ex-10", "No acute cardiopulmonary abnormality."),
    sentence_passage("ex-11", "Cardiomegaly with pulmonary edema."),
    sentence_passage("ex-12", "No pleural effusion."),
    definition_passage("def-1", "Cardiomegaly: enlargement of the heart.", Finding.cardiomegaly),
    definition_passage(
        "def-2", "Pleural effusion: fluid in the pleural space.", Finding.pleural_effusion
    ),
]


class FakeClock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds
