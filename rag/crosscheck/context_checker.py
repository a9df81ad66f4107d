"""The independent sentence check: medspaCy ConText over the radiology-semantic-dict terms.

A second reader for every sentence, built on another engine (spaCy + medspaCy's ConText)
and another vocabulary (rag.crosscheck.vocabulary) than the project's rule labeler, so that
the two fail in different ways. It never imports rag.labeler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.crosscheck import rules as R
from rag.crosscheck.vocabulary import build_vocabulary
from rag.domain import Finding, State
from rag.domain.ontology import CLAIM_RANK, report_states

# When a text asserts a finding in several ways the strongest claim wins (CheXpert's rule).
_RANK = CLAIM_RANK
_SENTENCE_END = frozenset({".", "!", "?"})
_CLAUSE_PUNCT = frozenset({",", ";", ".", "!", "?"})


@dataclass(frozen=True)
class CrossReading:
    """What one sentence (or report) says, as the independent check reads it.

    `findings`: explicit statements about the 14 findings. `normal`: groups of findings a
    statement of normality says are absent (`the lungs are clear`), checked leniently:
    wrong if the labels hold any of them present or uncertain. `hedged`: findings named
    with a hedge toward absence (`unlikely`), read as uncertain-or-absent.
    `out_of_ontology`: radiology terms outside the 14 findings, lower-cased, in any state;
    `out_of_ontology_denied`: those of them the sentence only negates ("no adenopathy").
    """

    findings: dict[Finding, State]
    out_of_ontology: tuple[str, ...] = ()
    out_of_ontology_denied: tuple[str, ...] = ()
    normal: tuple[tuple[Finding, ...], ...] = ()
    hedged: tuple[Finding, ...] = ()

    def states(self) -> dict[Finding, State]:
        """Explicit states, plus absent for every finding a normal statement covers."""
        out = dict(self.findings)
        for group in self.normal:
            for f in group:
                out.setdefault(f, State.absent)
        return out


def _opens_clause(tokens: list[Any], i: int) -> bool:
    """Whether the words from i to the next comma form a clause of their own (own verb)."""
    seg = []
    for t in tokens[i:]:
        if t.text in _CLAUSE_PUNCT:
            break
        seg.append(t.lower_)
    if not seg or any(w in R.LIST_WORDS for w in seg):
        return False
    # ", no pneumothorax" opens a negated clause of its own after a hedge or a finding.
    return seg[0] in ("no", "without") or any(w in R.CLAUSE_VERBS for w in seg)


def _and_opens_clause(tokens: list[Any], i: int) -> bool:
    """`and` + a new subject ends a negation or hedge ("no effusion and the heart is ...")."""
    before = []
    for t in reversed(tokens[:i]):
        if t.text in _CLAUSE_PUNCT or t.is_sent_start:
            before.append(t.lower_)
            break
        before.append(t.lower_)
    nxt = tokens[i + 1].lower_ if i + 1 < len(tokens) else ""
    if nxt == "there":
        return True
    cue_before = any(w in R.NEGATION_WORDS or w in ("possible", "possibly") for w in before)
    return cue_before and _opens_clause(tokens, i + 1)


def mark_clauses(doc: Any) -> Any:
    """Set sentence starts at sentence ends and clause boundaries, so ConText scope stops."""
    tokens = list(doc)
    for i, t in enumerate(tokens):
        if i == 0:
            t.is_sent_start = True
            continue
        prev = tokens[i - 1]
        start = (
            (prev.is_punct and prev.text[-1] in _SENTENCE_END)
            or prev.text == ";"
            or "\n" in prev.text
            or t.lower_ in R.CLAUSE_WORDS
            or (t.lower_ == "positive" and i + 1 < len(tokens) and tokens[i + 1].lower_ == "for")
            or (prev.text == "," and _opens_clause(tokens, i))
            or (t.lower_ == "and" and _and_opens_clause(tokens, i))
        )
        t.is_sent_start = bool(start) and not t.is_space
    return doc


def _plural(term: str) -> str | None:
    if term.endswith(("s", "x")) or not term[-1:].isalpha():
        return None
    return term[:-1] + "ies" if term.endswith("y") else term + "s"


@lru_cache(maxsize=1)
def _pipeline() -> Any:
    """The spaCy pipeline, built once per process on first use.

    Seconds, not milliseconds: importing spaCy + medspaCy and compiling ~19k target rules
    (bench/bench_crosscheck.py measures both), so callers load it lazily and share it.
    """
    import medspacy  # noqa: F401  (registers the medspaCy factories)
    import spacy
    from medspacy.context import ConTextRule
    from medspacy.ner import TargetRule
    from spacy.language import Language

    if "radrag_clauses" not in Language.factories:
        Language.component("radrag_clauses")(mark_clauses)
    nlp = spacy.blank("en")
    nlp.add_pipe("radrag_clauses")
    matcher = nlp.add_pipe("medspacy_target_matcher")
    vocab = build_vocabulary()
    targets = []
    for term, finding in vocab.terms.items():
        label = "O" if finding is None else f"F:{finding.value}"
        targets.append(TargetRule(term, label))
        plural = _plural(term) if finding is not None or " " not in term else None
        if plural and plural not in vocab.terms:
            targets.append(TargetRule(plural, label))
    for i, (pattern, _) in enumerate(R.NORMAL_STATEMENTS):
        targets.append(TargetRule(f"normal{i}", f"N:{i}", pattern=pattern))
    for pattern, finding in R.PREDICATE_MENTIONS:
        targets.append(TargetRule(f"pred:{finding.value}", f"P:{finding.value}", pattern=pattern))
    targets.append(TargetRule("normal study", "S", pattern=R.NORMAL_STUDY))
    # Abbreviations written in capitals are matched as tokens too (an empty token matcher
    # also makes spaCy warn on every call).
    targets.append(TargetRule("PTX", f"F:{Finding.pneumothorax.value}", pattern=[{"TEXT": "PTX"}]))
    for pattern, finding in R.GENERIC_ABNORMALITY:
        name = finding.value if finding else "study"
        targets.append(TargetRule(f"abnormal:{name}", f"G:{name}", pattern=pattern))
    matcher.add(targets)
    context = nlp.add_pipe("medspacy_context", config={"rules": None, "span_attrs": None})
    context.add(
        [ConTextRule(phrase, cat, direction=d) for phrase, cat, d in R.CUES]
        # One token pattern, so that ConText's token matcher is not empty either.
        + [ConTextRule("x versus y", R.POSSIBLE, pattern=[{"LOWER": {"IN": ["vs.", "v."]}}])]
        + [ConTextRule(w, "TERMINATE", direction="TERMINATE") for w in sorted(R.CLAUSE_WORDS)]
    )
    return nlp


_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[A-Za-z0-9]")
_INNER_NOT = re.compile(r"\bnot\b", re.IGNORECASE)


def _state(ent: Any) -> tuple[State, bool]:
    """A mention's state from its ConText modifiers, and whether it is an `unlikely` hedge."""
    # A cue inside the mention ("the heart is not enlarged") is the mention's own wording,
    # read by the caller; ConText's reading of it would count it twice.
    outside = [
        m
        for m in ent._.modifiers
        if not (ent.start <= m.modifier_span[0] and m.modifier_span[1] <= ent.end)
    ]

    def distance(m: Any) -> int:
        start, end = m.modifier_span
        return ent.start - end if end <= ent.start else start - ent.end

    # When a negation and a hedge both reach a mention, the nearer one speaks for it
    # ("possible effusion, no pneumothorax" if no boundary were found between them).
    cats = {m.category for m in outside}
    if len(cats - {R.PSEUDO}) > 1:
        cats = {min(outside, key=distance).category}
    if R.UNLIKELY in cats:
        return State.uncertain, True
    if cats & {R.POSSIBLE, R.HYPOTHETICAL}:
        return State.uncertain, False
    return (State.absent if R.NEGATED in cats else State.present), False


def _flip(st: State) -> State:
    return {State.present: State.absent, State.absent: State.present}.get(st, st)


class _Reader:
    """Accumulates the mentions of one text into a CrossReading."""

    def __init__(self) -> None:
        self.findings: dict[Finding, State] = {}
        self.ooo: list[str] = []
        self.ooo_said: set[str] = set()
        self.normal: list[tuple[Finding, ...]] = []
        self.hedged: set[Finding] = set()

    def say(self, f: Finding, st: State, hedge: bool = False) -> None:
        old = self.findings.get(f)
        if old is None or _RANK[st] > _RANK[old]:
            self.findings[f] = st
        if hedge:
            self.hedged.add(f)

    def add(self, ent: Any) -> None:
        kind, _, arg = ent.label_.partition(":")
        st, hedge = _state(ent)
        if kind == "F":
            self.say(Finding(arg), st, hedge)
        elif kind == "O":
            term = " ".join(ent.text.lower().split())
            if term not in self.ooo:
                self.ooo.append(term)
            if st is not State.absent:
                self.ooo_said.add(term)
        elif kind == "P":
            self.say(Finding(arg), _flip(st) if _INNER_NOT.search(ent.text) else st, hedge)
        elif kind == "N":
            self._normal(R.NORMAL_STATEMENTS[int(arg)][1], st, bool(_INNER_NOT.search(ent.text)))
        elif kind == "S":
            self.say(Finding.no_finding, st, hedge)
        elif kind == "G":
            if arg == "study":
                self.say(Finding.no_finding, _flip(st) if st is not State.uncertain else st)
            elif st is State.absent:
                self.normal.append((Finding(arg),))
            else:
                self.say(Finding(arg), st, hedge)

    def _normal(self, group: tuple[Finding, ...], st: State, inner_not: bool) -> None:
        if inner_not:  # "the lungs are not clear": the first finding is there
            self.say(group[0], State.present)
        elif st is State.uncertain:  # "probably normal heart size"
            self.say(group[0], State.uncertain)
        else:
            # A negation cue before a statement of normality belongs to a list it ends
            # ("no effusion. heart size normal" without a full stop), not to the statement.
            self.normal.append(group)

    def reading(self) -> CrossReading:
        return CrossReading(
            findings=dict(self.findings),
            out_of_ontology=tuple(self.ooo),
            out_of_ontology_denied=tuple(t for t in self.ooo if t not in self.ooo_said),
            normal=tuple(self.normal),
            hedged=tuple(sorted(self.hedged)),
        )


class ContextChecker:
    """Reads sentences with ConText; also a Labeler (label, label_report) for judging."""

    name = "crosscheck-medspacy-context-v1"

    def read(self, sentence: str) -> CrossReading:
        """What one sentence says about the 14 findings and beyond them."""
        return _read_cached(" ".join(sentence.split()))

    def sentences(self, text: str) -> list[str]:
        """The sentences of a text, as this check's pipeline splits them (clauses kept)."""
        parts = (s.strip() for s in _SENTENCES.split(text or ""))
        return [p for p in parts if _WORD.search(p)]

    def label(self, sentence: str) -> dict[Finding, State]:
        """Finding states one sentence asserts (statements of normality included)."""
        return self.read(sentence).states()

    def label_report(self, text: str) -> dict[Finding, State]:
        """States over a whole report; derives no_finding as CheXpert does."""
        doc = _pipeline()(text or "")
        reader = _Reader()
        for ent in doc.ents:
            reader.add(ent)
        return report_states([reader.reading().states()])


@lru_cache(maxsize=65536)
def _read_cached(sentence: str) -> CrossReading:
    reader = _Reader()
    for ent in _pipeline()(sentence).ents:
        reader.add(ent)
    return reader.reading()
