"""Stage 3, generate: the extractive generator (no LLM) and sentence selection.

It picks, for each finding, a knowledge-base sentence that says exactly what the label
set says and nothing more. It is the no-LLM mode and the repair source for the guard.
"""

from __future__ import annotations

from rag.domain import (
    FINDING_NAMES,
    DraftSentence,
    Evidence,
    Finding,
    LabelSet,
    Passage,
    PassageKind,
    State,
)
from rag.stages.retrieve import best_definition, talking_points

_SENTENCE_KINDS = (PassageKind.exemplar, PassageKind.template)


def fits_labels(passage: Passage, labels: LabelSet) -> bool:
    """A sentence every claim of which the label set makes, with no patient detail."""
    if passage.kind not in _SENTENCE_KINDS or passage.details or not passage.tags:
        return False
    return all(labels.effective_state(f) is st for f, st in passage.tags.items())


def pick_sentence(
    finding: Finding,
    state: State,
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    covered: set[Finding],
    exclude: set[str] | None = None,
) -> DraftSentence | None:
    """The best verified-by-construction sentence for one finding, or None."""
    best: tuple[tuple[int, float], Evidence] | None = None
    for ev in evidence.get(finding, []):
        p = ev.passage
        if p.tags.get(finding) is not state or not fits_labels(p, labels):
            continue
        if exclude and p.text in exclude:
            continue
        # Prefer sentences that also cover other still-open findings, then similarity.
        gain = sum(1 for f in p.tags if f not in covered and f is not Finding.no_finding)
        key = (gain, ev.score)
        if best is None or key > best[0]:
            best = (key, ev)
    if best is None:
        return None
    p = best[1].passage
    cites = [p.id]
    definition = best_definition(evidence.get(finding, []))
    if definition is not None:
        cites.append(definition.passage.id)
    return DraftSentence(
        text=p.text, findings=dict(p.tags), evidence=tuple(cites), origin="extractive"
    )


def _impression(
    labels: LabelSet, evidence: dict[Finding, list[Evidence]], body: list[DraftSentence]
) -> list[DraftSentence]:
    cites = {f: s.evidence for s in body for f in s.findings}
    out = []
    for f, st in talking_points(labels):
        if st is State.absent or f not in cites:
            continue
        name = FINDING_NAMES[f]
        text = f"{name[0].upper()}{name[1:]}." if st is State.present else f"Possible {name}."
        out.append(
            DraftSentence(
                text=text,
                section="impression",
                findings={f: st},
                evidence=cites[f],
                origin="template",
            )
        )
    if out:
        return out
    # A normal study: the broadest negative statement the label set fully supports.
    used = {s.text for s in body}
    best: tuple[tuple[int, float], Evidence] | None = None
    for evs in evidence.values():
        for ev in evs:
            p = ev.passage
            if p.text in used or not fits_labels(p, labels):
                continue
            if all(s is not State.present for s in p.tags.values()):
                key = (len(p.tags), ev.score)
                if best is None or key > best[0]:
                    best = (key, ev)
    if best is None:
        return []
    p = best[1].passage
    return [
        DraftSentence(
            text=p.text,
            section="impression",
            findings=dict(p.tags),
            evidence=(p.id,),
            origin="extractive",
        )
    ]


class ExtractiveGenerator:
    """Composes a report from retrieved sentences that match the label set exactly."""

    name = "extractive"

    def generate(
        self,
        labels: LabelSet,
        evidence: dict[Finding, list[Evidence]],
        *,
        indication: str | None = None,
        prior_report: str | None = None,
    ) -> tuple[list[DraftSentence], list[DraftSentence]]:
        """Return (findings sentences, impression sentences); request text is not used."""
        body: list[DraftSentence] = []
        covered: set[Finding] = set()
        for finding, state in talking_points(labels):
            if finding in covered:
                continue
            s = pick_sentence(finding, state, labels, evidence, covered)
            if s is not None:
                body.append(s)
                covered.update(s.findings)
        return body, _impression(labels, evidence, body)
