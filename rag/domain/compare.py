"""Comparison with a prior study: the change statements two label sets license (pure).

Only what follows from both label sets is a change: a finding absent before and present
now is new; present before and absent now is resolved; present in both is unchanged,
unless both give its severity on the same scale and it moved (larger/smaller on the size
scale, worsened/improved on the degree scale). A finding the prior did not assess, or
that is uncertain on either side, gets no change statement.
"""

from __future__ import annotations

from enum import StrEnum

from rag.domain.attributes import DEGREE_SCALE, SIZE_SCALE, FindingAttributes
from rag.domain.base import _Frozen
from rag.domain.models import LabelSet
from rag.domain.ontology import Finding, State


class ChangeKind(StrEnum):
    """How a finding changed since the prior study."""

    new = "new"
    resolved = "resolved"
    unchanged = "unchanged"
    larger = "larger"
    smaller = "smaller"
    worsened = "worsened"
    improved = "improved"


class Change(_Frozen):
    """One change statement the two label sets support."""

    finding: Finding
    kind: ChangeKind
    prior: FindingAttributes = FindingAttributes()
    current: FindingAttributes = FindingAttributes()


def _moved(before: FindingAttributes, now: FindingAttributes) -> ChangeKind:
    a, b = before.severity, now.severity
    if a is None or b is None or a == b:
        return ChangeKind.unchanged
    for scale, up, down in (
        (SIZE_SCALE, ChangeKind.larger, ChangeKind.smaller),
        (DEGREE_SCALE, ChangeKind.worsened, ChangeKind.improved),
    ):
        if a in scale and b in scale:
            return up if scale.index(b) > scale.index(a) else down
    return ChangeKind.unchanged  # different scales: no honest ordering


def compare(prior: LabelSet, current: LabelSet) -> list[Change]:
    """Change statements from a prior study's labels to the current ones, in ontology order."""
    out = []
    for f in Finding:
        if f is Finding.no_finding:
            continue
        before, now = prior.effective_state(f), current.effective_state(f)
        if before is None or now is None:
            continue
        pa, ca = prior.attributes_of(f), current.attributes_of(f)
        if before is State.absent and now is State.present:
            kind = ChangeKind.new
        elif before is State.present and now is State.absent:
            kind = ChangeKind.resolved
        elif before is State.present and now is State.present:
            if pa.laterality and ca.laterality and pa.laterality != ca.laterality:
                continue  # moved sides: not one finding that changed size
            kind = _moved(pa, ca)
        else:
            continue
        out.append(Change(finding=f, kind=kind, prior=pa, current=ca))
    return out
