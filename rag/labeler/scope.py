"""Read a sentence clause by clause, so that negation and hedges cannot reach too far.

The rule labeler reads a whole sentence with NegEx-style windows; a window can run across
a clause boundary ("No pneumothorax, pleural effusion is present." reads both negated).
This reader splits the sentence at clause boundaries first, reads every clause alone,
and compares the two readings: where they disagree the sentence is ambiguous and is
refused rather than guessed. On top of the clause readings it applies what a window
labeler misses:
- a hedge anywhere in a clause ("Pneumothorax is unlikely.", "Atelectasis may be
  present.") makes a finding uncertain, and a hedge that leans negative (unlikely,
  doubtful) states no label state at all;
- two negations of one mention ("It is not true that there is no effusion.") are refused.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from rag.domain.ontology import Finding, State
from rag.labeler import lexicon as lx
from rag.labeler.rules import RuleLabeler
from rag.ports import Labeler

# Boundaries that always open a new clause. "positive for" opens one too and stays in it.
_STRONG = re.compile(
    r";|(?<!\d)[.!?](?=\s+[A-Za-z0-9])|\s[\u2013\u2014-]{1,2}\s|\b(?:but|however|although|though|whereas|while|yet|"
    r"except(?: for)?|apart from|aside from|other than)\b|(?=\bpositive for\b)",
    re.IGNORECASE,
)
# "and" followed by a new subject: "No effusion and the heart is enlarged."
_AND_SUBJECT = re.compile(
    r"\band\b(?=\s+(?:there|the|a|an|this|these|heart|lungs?|no|findings?)\b)", re.IGNORECASE
)
# A comma opens a new clause when what follows has its own predicate and is not the next
# item of a list ("No effusion, pneumothorax, or edema is seen." stays one clause).
_PREDICATE = re.compile(
    r"\b(?:is|are|was|were|has|have|seen|noted|present|identified|demonstrated|appears?|"
    r"remains?|shows?|suggests?|likely|unlikely|possible)\b",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"^\s*(?:and|or|nor)\b", re.IGNORECASE)
_COORDINATED = re.compile(r"\b(?:and|or|nor)\b", re.IGNORECASE)

# Clause splitting asks only whether a piece mentions a finding; the rule labeler knows.
_MENTIONS = RuleLabeler()

HEDGE = re.compile(
    r"\b(?:possible|possibly|probable|probably|likely|may|might|could|questionable|"
    r"questionably|suspicious|suspected|suspect|suggest(?:s|ive|ing|ed)?|equivocal|"
    r"indeterminate|presumed|presumably|favou?red|favou?rs?|concern(?:ing)?|borderline|"
    r"versus|vs|cannot be excluded|not excluded|can ?not exclude|perhaps|maybe|apparent(?:ly)?|"
    r"uncertain|unclear|differential|consider(?:ed)?|worrisome|vague(?:ly)?)\b|\?",
    re.IGNORECASE,
)
# Hedges that lean towards absent: they state neither present, uncertain nor absent.
NEGATIVE_HEDGE = re.compile(
    r"\b(?:unlikely|doubtful|improbable|not likely|less likely|not favou?red|"
    r"not suspected|not suspicious)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:no|not|without|free of|negative for|absence of|absent|never|none|neither|nor|"
    r"denies|ruled out|rules out|excluded|resolved|cleared)\b|n't\b",
    re.IGNORECASE,
)
_POST_NEGATION = re.compile(
    r"^\s*(?:(?:is|are|was|were|has|have|been)\s+)*(?:not\b|absent|excluded|resolved|cleared)",
    re.IGNORECASE,
)
_HEDGE_NEGATED = re.compile(r"\b(?:no|not|without)\b[^,;]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    """What a sentence asserts, clause by clause, and why it cannot be read safely."""

    states: dict[Finding, State] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    # Findings whose clause hedges towards absent: no label state supports them.
    leaning_absent: frozenset[Finding] = frozenset()


def clauses(sentence: str) -> list[str]:
    """Split a sentence at the boundaries that end a negation's or a hedge's scope."""
    parts: list[str] = []
    for strong in _STRONG.split(_AND_SUBJECT.sub(";", sentence)):
        pieces = strong.split(",")
        current = pieces[0]
        for piece in pieces[1:]:
            # A verbless tail ("Pneumothorax, likely.") still belongs to what it qualifies.
            opens_clause = (
                not _LIST_ITEM.match(piece)
                and _PREDICATE.search(piece) is not None
                and _COORDINATED.search(piece) is None
                and bool(_MENTIONS.label(piece))
            )
            if opens_clause:
                parts.append(current)
                current = piece
            else:
                current = f"{current},{piece}"
        parts.append(current)
    return [p.strip() for p in parts if re.search(r"[A-Za-z]", p)]


def _double_negation(labeler_masked: str) -> bool:
    """Two negation cues with no finding mention between them govern one mention."""
    cues = [m.group(0).lower() for m in _NEGATION.finditer(labeler_masked)]
    if len(cues) < 2:
        return False
    if cues.count("neither") and cues.count("nor"):
        return len(cues) - cues.count("nor") - cues.count("neither") >= 2
    # Cues separated by a mention belong to different findings ("No effusion, no
    # pneumothorax."): look at the cue sequence between mentions.
    segments = re.split(r"\x00+", labeler_masked)
    if any(len(_NEGATION.findall(seg)) >= 2 for seg in segments):
        return True
    # A negation before a mention and another right after it: "no sign that X is absent".
    return any(
        _NEGATION.search(before) and _POST_NEGATION.match(after)
        for before, after in itertools.pairwise(segments)
    )


def _mask_mentions(clause: str) -> str:
    text = lx.PSEUDO.sub(lambda m: " " * len(m.group(0)), clause)
    text = lx.NEGATED_UNCERTAINTY.sub(lambda m: " " * len(m.group(0)), text)
    for rule in lx.RULES:
        text = rule.pattern.sub(lambda m: "\x00" * len(m.group(0)), text)
    return text


def read_sentence(sentence: str, labeler: Labeler) -> Reading:
    """Clause-level finding states, with the problems that make the sentence unsafe."""
    whole = labeler.label(sentence)
    states: dict[Finding, State] = {}
    problems: list[str] = []
    leaning: set[Finding] = set()
    for clause in clauses(sentence):
        read = dict(labeler.label(clause))
        masked = _mask_mentions(clause)
        if _double_negation(masked):
            problems.append("double_negation: two negations govern one statement")
        negative_hedge = NEGATIVE_HEDGE.search(clause) is not None
        cue = HEDGE.search(masked)
        # "No consolidation to suggest pneumonia": a negated hedge is part of the negation.
        hedge = cue is not None and not _HEDGE_NEGATED.search(masked[: cue.start()])
        for f, st in read.items():
            if negative_hedge and f is not Finding.no_finding:
                leaning.add(f)
            if hedge and st is State.present and f is not Finding.no_finding:
                st = State.uncertain
            if f in states and states[f] is not st:
                problems.append(f"conflicting_states:{f.value}")
            states[f] = st
    for f in set(whole) | set(states):
        if whole.get(f) is not None and states.get(f) is None:
            problems.append(f"ambiguous_scope:{f.value}")
        elif whole.get(f) is None or _agrees(whole[f], states[f]):
            continue
        else:
            problems.append(f"ambiguous_scope:{f.value}")
    return Reading(states, tuple(dict.fromkeys(problems)), frozenset(leaning))


def _agrees(whole: State, clause: State) -> bool:
    # A clause-level hedge may turn a whole-sentence "present" into "uncertain"; any
    # other difference means the two readings disagree on scope.
    return whole is clause or (whole is State.present and clause is State.uncertain)
