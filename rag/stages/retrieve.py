"""Stage 2, retrieve: knowledge-base passages for each assessed finding."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from rag.domain import (
    FINDING_NAMES,
    Evidence,
    Finding,
    FindingAttributes,
    LabelSet,
    Passage,
    PassageKind,
    State,
)
from rag.kb.store import KnowledgeBase
from rag.ports import Embedder

_PHRASE = {State.present: "{name}", State.absent: "no {name}", State.uncertain: "possible {name}"}


def finding_query(finding: Finding, state: State, attrs: FindingAttributes | None = None) -> str:
    """The retrieval query for one finding in one state (how a report would phrase it).

    Attributes go into the query ("small left pleural effusion"), so sentences that state
    them rank first; an absent finding has none.
    """
    name = FINDING_NAMES[finding]
    if attrs is not None and state is not State.absent:
        mods = [a.value for a in (attrs.severity, attrs.laterality) if a is not None]
        if attrs.location is not None:
            mods.append(attrs.location.value.replace("_", " "))
        mods += [d.type.value.replace("_", " ") for d in attrs.devices]
        name = " ".join([*mods, name])
    return _PHRASE[state].format(name=name)


# What a normal study's report says when the label set names nothing else: heart,
# mediastinum, clear lungs, no pneumothorax or effusion (IU's normal reports). Listing every
# other finding as absent ("No pleural thickening or fracture.") is true but not how a
# radiologist writes a normal chest.
NORMAL_STUDY_POINTS = frozenset(
    {
        Finding.cardiomegaly,
        Finding.enlarged_cardiomediastinum,
        Finding.lung_opacity,
        Finding.consolidation,
        Finding.pneumonia,
        Finding.edema,
        Finding.atelectasis,
        Finding.pneumothorax,
        Finding.pleural_effusion,
    }
)


def talking_points(labels: LabelSet) -> list[tuple[Finding, State]]:
    """Findings a report should address, positives first, then negatives."""
    order = {State.present: 0, State.uncertain: 1, State.absent: 2}
    normal = labels.state_of(Finding.no_finding) is State.present
    pts = [
        (f, s)
        for f in Finding
        if f is not Finding.no_finding
        and (s := labels.effective_state(f)) is not None
        and (not normal or f in labels.findings or f in NORMAL_STUDY_POINTS)
    ]
    return sorted(pts, key=lambda fs: order[fs[1]])


def concerns(passage: Passage, finding: Finding) -> bool:
    """Whether a passage is about a finding (its tags or, for definitions, its topic)."""
    return finding in passage.tags or finding in passage.concerns


class EmbeddingRetriever:
    """Retrieves passages per finding by embedding a query and searching the KB index."""

    def __init__(
        self, embedder: Embedder, k: int = 64, k_definitions: int = 3, cache_size: int = 1024
    ) -> None:
        self.embedder = embedder
        self.k = k
        self.k_definitions = k_definitions
        # Queries come from a closed set (findings x states x attribute values, few in
        # practice), so caching their vectors removes the encoder from the hot path.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _vectors(self, queries: list[str]) -> np.ndarray:
        missing = [q for q in dict.fromkeys(queries) if q not in self._cache]
        if missing:
            for q, v in zip(missing, self.embedder.embed(missing), strict=True):
                self._cache[q] = v
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([self._cache[q] for q in queries])

    def retrieve(self, kb: KnowledgeBase, labels: LabelSet) -> dict[Finding, list[Evidence]]:
        """Evidence per assessed finding, best first, restricted to passages about it."""
        points = talking_points(labels)
        if not points:
            return {}
        vectors = self._vectors([finding_query(f, s, labels.attributes_of(f)) for f, s in points])
        out: dict[Finding, list[Evidence]] = {}
        for (finding, state), vec in zip(points, vectors, strict=True):
            # Search only among sentences asserting this finding in this state (and the
            # definitions about it): sentence embeddings barely separate "no X" from "X",
            # and common findings would otherwise crowd rare ones out of the top k.
            hits: list[Evidence] = []
            for key, k in (((finding, state), self.k), ((finding, None), self.k_definitions)):
                restrict = kb.about.get(key)
                if restrict is None:
                    continue
                scores, ids = kb.index.search(vec[None, :], k, restrict=restrict)
                hits += [
                    Evidence(passage=kb.passages[i], finding=finding, score=float(sc))
                    for sc, i in zip(scores[0], ids[0], strict=True)
                    if i >= 0
                ]
            out[finding] = sorted(hits, key=lambda e: -e.score)
        return out


def best_definition(evidence: list[Evidence]) -> Evidence | None:
    """The top-ranked definition passage among a finding's evidence."""
    return next((e for e in evidence if e.passage.kind is PassageKind.definition), None)
