"""Read a given prior report into a label set (with the attributes its sentences state).

The same labeler the verifier uses reads the findings; a side, size or location is taken
from a sentence only when that sentence asserts exactly one present finding, so a detail
is never pinned to the wrong finding. Values outside a finding's scale are left out.
"""

from __future__ import annotations

import itertools
import re

from rag.domain import (
    ATTRIBUTE_SCOPE,
    Finding,
    FindingAttributes,
    FindingLabel,
    LabelSet,
    Laterality,
    Location,
    Severity,
    State,
)
from rag.labeler import split_sentences
from rag.ports import Labeler

_RANK = {State.absent: 0, State.uncertain: 1, State.present: 2}
_WORDS = re.compile(r"[a-z]+")
_SIDE = {
    "left": Laterality.left,
    "right": Laterality.right,
    "bilateral": Laterality.bilateral,
    "bilaterally": Laterality.bilateral,
    "bibasilar": Laterality.bilateral,
    "bibasal": Laterality.bilateral,
    "biapical": Laterality.bilateral,
}
_SEVERITY = {
    "trace": Severity.trace,
    "tiny": Severity.trace,
    "small": Severity.small,
    "moderate": Severity.moderate,
    "moderately": Severity.moderate,
    "large": Severity.large,
    "mild": Severity.mild,
    "mildly": Severity.mild,
    "severe": Severity.severe,
    "severely": Severity.severe,
    "marked": Severity.severe,
    "markedly": Severity.severe,
}
_PLACE = {
    "apical": Location.apical,
    "biapical": Location.apical,
    "basilar": Location.basal,
    "bibasilar": Location.basal,
    "basal": Location.basal,
    "bibasal": Location.basal,
    "perihilar": Location.perihilar,
    "retrocardiac": Location.retrocardiac,
    "lingula": Location.lingula,
    "lingular": Location.lingula,
}
_LOBE = {"upper": Location.upper_lobe, "middle": Location.middle_lobe, "lower": Location.lower_lobe}


def _one(values: set) -> object | None:
    return next(iter(values)) if len(values) == 1 else None


def attributes_in(sentence: str, finding: Finding) -> FindingAttributes:
    """The attributes a sentence states for one finding (only those in its scope)."""
    words = _WORDS.findall(sentence.lower())
    scope = ATTRIBUTE_SCOPE[finding]
    sides = {_SIDE[w] for w in words if w in _SIDE}
    if {Laterality.left, Laterality.right} <= sides:
        sides = {Laterality.bilateral}
    sev = {_SEVERITY[w] for w in words if w in _SEVERITY} & set(scope.severity)
    places = {_PLACE[w] for w in words if w in _PLACE}
    places |= {_LOBE[a] for a, b in itertools.pairwise(words) if a in _LOBE and b == "lobe"}
    try:
        return FindingAttributes(
            laterality=_one(sides) if scope.laterality else None,  # type: ignore[arg-type]
            severity=_one(sev),  # type: ignore[arg-type]
            location=_one(places) if scope.location else None,  # type: ignore[arg-type]
        )
    except ValueError:  # e.g. "left middle lobe": contradictory, so say nothing
        return FindingAttributes()


def read_prior(text: str, labeler: Labeler) -> LabelSet:
    """The prior report's findings, strongest claim per finding, with stated attributes."""
    states: dict[Finding, State] = {}
    attrs: dict[Finding, FindingAttributes] = {}
    for s in split_sentences(text):
        said = labeler.label(s)
        for f, st in said.items():
            if f is Finding.no_finding:
                continue
            if f not in states or _RANK[st] > _RANK[states[f]]:
                states[f] = st
        present = [
            f for f, st in said.items() if st is State.present and f is not Finding.no_finding
        ]
        if len(present) == 1 and present[0] not in attrs:
            a = attributes_in(s, present[0])
            if not a.is_empty():
                attrs[present[0]] = a
    return LabelSet(
        findings={
            f: FindingLabel(state=st, attributes=attrs.get(f) if st is State.present else None)
            for f, st in states.items()
        }
    )
