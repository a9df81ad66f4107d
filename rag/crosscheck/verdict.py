"""The independent check's verdict on one sentence against a label set (a pure function)."""

from __future__ import annotations

from rag.crosscheck.context_checker import ContextChecker, CrossReading
from rag.domain import Finding, LabelSet, State

_HEDGE_OK = (State.uncertain, State.absent)


def _wanted(labels: LabelSet, f: Finding) -> State | None:
    """The state the labels license; no_finding is absent as soon as anything is not."""
    own = labels.effective_state(f)
    if own is not None or f is not Finding.no_finding:
        return own
    rest = [g for g in Finding if g not in (Finding.no_finding, Finding.support_devices)]
    states = [labels.state_of(g) for g in rest]
    if any(s in (State.present, State.uncertain) for s in states):
        return State.absent
    # A normal study is licensed only when every finding it covers was assessed absent.
    return State.present if all(s is State.absent for s in states) else None


class ContextSentenceCheck:
    """The independent check as the verifier's SentenceCheck port (rag.ports)."""

    def __init__(self, checker: ContextChecker | None = None) -> None:
        self.checker = checker or ContextChecker()
        self.name = self.checker.name

    def check(self, sentence: str, labels: LabelSet) -> tuple[str, ...]:
        """The independent reading's reasons against the labels (empty when supported)."""
        return cross_verdict(self.checker.read(sentence), labels)[1]


def cross_verdict(
    reading: CrossReading, labels: LabelSet, *, allow_denied_out_of_ontology: bool = False
) -> tuple[bool, tuple[str, ...]]:
    """(supported, reason codes): every statement must match the labels, nothing else named.

    By default a term outside the ontology makes the sentence unsupported even when it is
    only negated ("no adenopathy": the labels do not say so either); with
    `allow_denied_out_of_ontology` a negated one passes.
    """
    reasons: list[str] = []
    for f, st in reading.findings.items():
        want = _wanted(labels, f)
        if want is None:
            reasons.append(f"crosscheck:not_assessed:{f.value}")
        elif want is not st and not (f in reading.hedged and want in _HEDGE_OK):
            reasons.append(
                f"crosscheck:state_mismatch:{f.value}:says_{st.value}:labels_{want.value}"
            )
    for group in reading.normal:
        rest = [f for f in group if f not in reading.findings]
        if not rest:
            continue
        wants = {f: _wanted(labels, f) for f in rest}
        wrong = [f for f, w in wants.items() if w in (State.present, State.uncertain)]
        for f in wrong:
            reasons.append(
                f"crosscheck:state_mismatch:{f.value}:says_absent:labels_{wants[f].value}"  # type: ignore[union-attr]
            )
        if all(w is None for w in wants.values()):
            reasons.append(f"crosscheck:not_assessed:{rest[0].value}")
    denied = set(reading.out_of_ontology_denied) if allow_denied_out_of_ontology else set()
    reasons.extend(
        f"crosscheck:out_of_ontology:{t}" for t in reading.out_of_ontology if t not in denied
    )
    if not (reading.findings or reading.normal or reading.out_of_ontology):
        reasons.append("crosscheck:no_finding_read")
    return not reasons, tuple(dict.fromkeys(reasons))
