"""Stage 3, generate: the extractive generator (no LLM) and sentence selection.

For each present or uncertain finding it picks a knowledge-base sentence that says
exactly what the label set says (its details licensed by the finding's attributes), or,
when no sentence states the attributes, composes one ("There is a small left pleural
effusion."). Absent findings are said together per section ("No pleural effusion or
pneumothorax."), in the order of rag.stages.style. The impression lists the present and
uncertain findings by importance (as comparisons when a prior report was given). It is
the no-LLM mode and the repair source for the guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rag.domain import (
    DraftSentence,
    Evidence,
    Finding,
    FindingAttributes,
    LabelSet,
    Passage,
    PassageKind,
    State,
    licensed_details,
    licensed_words,
)
from rag.domain.compare import Change, ChangeKind, compare
from rag.labeler import RuleLabeler, find_details
from rag.ports import Labeler
from rag.stages import style
from rag.stages.prior import read_prior
from rag.stages.retrieve import best_definition, concerns

_SENTENCE_KINDS = (PassageKind.exemplar, PassageKind.template)


@lru_cache(maxsize=16384)
def _words_of_details(text: str) -> frozenset[str]:
    return frozenset(w for d in find_details(text) for w in d.text.split())


def _detail_words(passage: Passage) -> frozenset[str]:
    # Passage.details holds only the kinds; the words come from the text, as the verifier
    # reads them.
    return _words_of_details(passage.text) if passage.details else frozenset()


def fits_labels(passage: Passage, labels: LabelSet) -> bool:
    """A sentence every claim of which the label set makes; details only as licensed."""
    if passage.kind not in _SENTENCE_KINDS or not passage.tags:
        return False
    if not all(labels.effective_state(f) is st for f, st in passage.tags.items()):
        return False
    if not passage.details:
        return True
    lic = licensed_details(labels)
    allowed = set().union(*(lic.get(f, frozenset()) for f in passage.tags))
    return _detail_words(passage) <= allowed


def states_attributes(text: str, attrs: FindingAttributes) -> bool:
    """Whether a sentence says every attribute given (each by one of its licensed words)."""
    words = _words_of_details(text)
    parts = [
        FindingAttributes(**{name: getattr(attrs, name)})
        for name in ("laterality", "severity", "location", "count")
        if getattr(attrs, name) is not None
    ] + [FindingAttributes(devices=(d,)) for d in attrs.devices]
    return all(words & licensed_words(p) for p in parts)


def _cites(finding: Finding, state: State, evidence: dict[Finding, list[Evidence]]) -> tuple:
    """The best passage asserting this finding in this state, and its definition."""
    evs = evidence.get(finding, [])
    top = next((e.passage.id for e in evs if e.passage.tags.get(finding) is state), None)
    definition = best_definition(evs)
    ids = [top] if top else []
    if definition is not None:
        ids.append(definition.passage.id)
    return tuple(ids)


def pick_sentence(
    finding: Finding,
    state: State,
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    covered: set[Finding],
    exclude: set[str] | None = None,
) -> DraftSentence | None:
    """The best verified-by-construction sentence for one finding, or None.

    With attributes, a sentence that states all of them ranks first.
    """
    attrs = labels.attributes_of(finding) if state is not State.absent else FindingAttributes()
    best: tuple[tuple[bool, int, float], Evidence] | None = None
    for ev in evidence.get(finding, []):
        p = ev.passage
        if p.tags.get(finding) is not state or not fits_labels(p, labels):
            continue
        if exclude and p.text in exclude:
            continue
        # Prefer sentences that state the attributes, then those that also cover other
        # still-open findings, then similarity.
        full = attrs.is_empty() or states_attributes(p.text, attrs)
        gain = sum(1 for f in p.tags if f not in covered and f is not Finding.no_finding)
        key = (full, gain, ev.score)
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


def compose_findings(
    labels: LabelSet, evidence: dict[Finding, list[Evidence]]
) -> list[DraftSentence]:
    """Findings-section sentences, section by section, negatives combined."""
    body: list[DraftSentence] = []
    covered: set[Finding] = set()
    points = style.ordered_points(labels)
    for name, section in style.SECTIONS:
        mine = [(f, st) for f, st in points if f in section]
        for f, st in mine:
            if st is State.absent or f in covered or not evidence.get(f):
                continue
            s = pick_sentence(f, st, labels, evidence, covered)
            attrs = labels.attributes_of(f)
            if s is None or not (attrs.is_empty() or states_attributes(s.text, attrs)):
                body += _stated(f, st, labels, evidence)
                covered.add(f)
            else:
                body.append(s)
                covered.update(s.findings)
        after = style.NEGATIVES_AFTER[name]
        absent = [f for f, st in points if st is State.absent and f in after and f not in covered]
        for s in _negatives(absent, labels, evidence):
            body.append(s)
            covered.update(s.findings)
    return body


def _stated(
    f: Finding,
    st: State,
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    section: str = "findings",
) -> list[DraftSentence]:
    """The report style's sentence for a present or uncertain finding with its attributes."""
    attrs = labels.attributes_of(f)
    texts = (
        [style.impression_phrase(f, st, attrs)]
        if section == "impression"
        else style.finding_sentence(f, st, attrs)
    )
    cites = _cites(f, st, evidence)
    return [
        DraftSentence(text=t, findings={f: st}, evidence=cites, origin="template") for t in texts
    ]


def _negatives(
    absent: list[Finding], labels: LabelSet, evidence: dict[Finding, list[Evidence]]
) -> list[DraftSentence]:
    """Combined negatives for these absent findings (those with passages to cite)."""
    absent = [f for f in absent if _cites(f, State.absent, evidence)]
    out = []
    for text, denies in style.negative_sentences(absent, style.lungs_may_be_clear(labels)):
        cites = tuple(dict.fromkeys(c for f in denies for c in _cites(f, State.absent, evidence)))
        claims = dict.fromkeys(denies, State.absent)
        out.append(DraftSentence(text=text, findings=claims, evidence=cites, origin="template"))
    return out


def _phrasings(f: Finding, st: State, labels: LabelSet, change: Change | None) -> list[str]:
    attrs = labels.attributes_of(f)
    first = style.change_sentence(change) if change else style.impression_phrase(f, st, attrs)
    phrase = style.noun_phrase(f, attrs)[0]
    if st is State.uncertain:
        return [first, f"{phrase[:1].upper()}{phrase[1:]} cannot be excluded."]
    return [first, f"Findings consistent with {phrase}."]


def compose_impression(
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    body: list[DraftSentence],
    changes: Sequence[Change] = (),
) -> list[DraftSentence]:
    """Every present and uncertain finding by importance (never a findings sentence again)."""
    # A combined negative cites passages about each of its findings: a sentence about one
    # of them cites only the passages that concern it (the verifier checks the topic).
    passages = {e.passage.id: e.passage for evs in evidence.values() for e in evs}

    def on_topic(ids: Sequence[str], about: Sequence[Finding]) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                i for i in ids if i in passages and any(concerns(passages[i], f) for f in about)
            )
        )

    cites = {f: on_topic(s.evidence, (f,)) for s in body for f in s.findings}
    cites = {f: ids for f, ids in cites.items() if ids}
    used = {s.text for s in body}
    by_finding = {c.finding: c for c in changes}
    out: list[DraftSentence] = []
    speak = [f for f, st in style.ordered_points(labels) if st is not State.absent and f in cites]
    for f in style.by_importance(speak, labels):
        st = labels.effective_state(f)
        assert st is not None
        text = next(
            (t for t in _phrasings(f, st, labels, by_finding.get(f)) if t not in used), None
        )
        if text is None:
            continue
        out.append(
            DraftSentence(
                text=text,
                section="impression",
                findings={f: st},
                evidence=cites[f],
                origin="template",
            )
        )
    for c in changes:
        if c.kind is ChangeKind.resolved and c.finding in cites:
            out.append(
                DraftSentence(
                    text=style.change_sentence(c),
                    section="impression",
                    findings={c.finding: State.absent},
                    evidence=cites[c.finding],
                    origin="template",
                )
            )
    quiet = style.quiet_impression(labels)
    if quiet is not None and quiet[0] not in used:
        # Nothing cardiopulmonary to list: IU's commonest impression when the labels
        # license it (the rules read it as the six acute findings absent, the independent
        # check as a normal chest), else what the airspace label licenses.
        text, denies = quiet
        ids = on_topic([c for f in denies for c in cites.get(f, ())], denies)
        if ids:
            out.append(
                DraftSentence(
                    text=text,
                    section="impression",
                    findings=dict.fromkeys(denies, State.absent),
                    evidence=ids,
                    origin="template",
                )
            )
            return out
    if labels.state_of(Finding.no_finding) is State.present:
        # A study labelled normal says so ("No radiographic evidence of acute
        # cardiopulmonary disease." reads as no finding).
        normal = _broadest_negative(labels, evidence, used)
        if normal and normal[0].findings.get(Finding.no_finding) is State.present:
            return out + normal
    return out or _broadest_negative(labels, evidence, used)


def _broadest_negative(
    labels: LabelSet, evidence: dict[Finding, list[Evidence]], used: set[str]
) -> list[DraftSentence]:
    """A normal study not fully assessed: the broadest negative sentence the labels support."""
    best: tuple[tuple[bool, int, float], Evidence] | None = None
    for evs in evidence.values():
        for ev in evs:
            p = ev.passage
            if p.text in used or not fits_labels(p, labels):
                continue
            if all(
                s is not State.present for f, s in p.tags.items() if f is not Finding.no_finding
            ):
                # A passage that states the study normal first, then the broadest.
                normal = p.tags.get(Finding.no_finding) is State.present
                key = (normal, len(p.tags), ev.score)
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


def prior_changes(labels: LabelSet, prior_report: str | None, labeler: Labeler) -> list[Change]:
    """Changes since a given prior report (none without one)."""
    if not prior_report or not prior_report.strip():
        return []
    return compare(read_prior(prior_report, labeler), labels)


class ExtractiveGenerator:
    """Composes a report from retrieved sentences that match the label set exactly."""

    name = "extractive"

    def __init__(self, labeler: Labeler | None = None) -> None:
        # The prior report is read with the verifier's labeler (rules, no I/O).
        self.labeler = labeler or RuleLabeler()

    def generate(
        self,
        labels: LabelSet,
        evidence: dict[Finding, list[Evidence]],
        *,
        indication: str | None = None,
        prior_report: str | None = None,
    ) -> tuple[list[DraftSentence], list[DraftSentence]]:
        """Return (findings sentences, impression sentences); the indication is not used."""
        body = compose_findings(labels, evidence)
        changes = prior_changes(labels, prior_report, self.labeler)
        return body, compose_impression(labels, evidence, body, changes)


def repair_candidates(
    failed: DraftSentence, labels: LabelSet, evidence: dict[Finding, list[Evidence]]
) -> list[list[DraftSentence]]:
    """What the extractive generator could say instead of a failed sentence, best first.

    The guard keeps the first alternative whose every sentence verifies. A failed statement
    of one finding is replaced first by another knowledge-base sentence (one that states its
    attributes), then by the composed sentence; a failed sentence about several findings by
    the composed sentences for all its assessed findings. Before, only the first finding of
    such a sentence was repaired and only from the KB, so when that failed too the findings
    it covered went unsaid ("Mild cardiomegaly, no acute pulmonary findings." dropped took
    seven denials with it).
    """
    wanted = {f: labels.effective_state(f) for f in failed.findings}
    assessed = {f: st for f, st in wanted.items() if st is not None}
    out: list[list[DraftSentence]] = []
    if len(assessed) == 1:
        ((f, st),) = assessed.items()
        s = pick_sentence(f, st, labels, evidence, set(), exclude={failed.text})
        attrs = labels.attributes_of(f) if st is not State.absent else FindingAttributes()
        if s is not None and (attrs.is_empty() or states_attributes(s.text, attrs)):
            out.append([s])
    # The same words may come back here: a sentence that failed only on what it cited
    # ("No acute bony abnormality." citing a pneumothorax passage) is said again with its
    # own passages, and verified again like any other replacement.
    composed = composed_sentences(assessed, labels, evidence, failed.section)
    if composed:
        out.append(composed)
    return out


def composed_sentences(
    wanted: dict[Finding, State],
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    section: str,
) -> list[DraftSentence]:
    """The style sentences for exactly these findings (each with passages to cite)."""
    out: list[DraftSentence] = []
    points = [(f, st) for f, st in style.ordered_points(labels) if wanted.get(f) is st]
    for f, st in points:
        if st is not State.absent and _cites(f, st, evidence):
            out += _stated(f, st, labels, evidence, section)
    return out + _negatives([f for f, st in points if st is State.absent], labels, evidence)
