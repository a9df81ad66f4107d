"""Closed-world vocabulary check: every word of a sentence must be accounted for.

A drafted sentence may only say what the label set supports. Reading the 14 findings is
not enough: "No pleural effusion; there is a hiatal hernia." states something outside
the ontology. So after the finding mentions, context cues and patient details are
masked, every remaining word must be *neutral* (scripts/build_neutral_words.py derives
that list from human-annotated normal IU reports). A leftover word that the radiology
vocabulary (`radiology-semantic-dict`: its concepts, synonyms and X-ray imaging findings)
names is `out_of_ontology` with the vocabulary's term; any other leftover word is
`unknown_word`: an unknown clinical word is a reason to refuse, not to ignore. The
unknown word itself is never quoted (it may be anything the generator wrote).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from rag.labeler import lexicon as lx
from rag.labeler.details import all_detail_patterns

_DATA = Path(__file__).with_name("data")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Terms this short are mostly abbreviations that collide with English ("as", "be").
_MIN_TERM_CHARS = 4
_MAX_TERM_WORDS = 6
_NOT_PATIENT = frozenset({"modality", "technique", "physics"})
# Words that carry no content wherever they stand (the data list has no one-letter words).
_FUNCTION = frozenset({"a", "x"})


@lru_cache(maxsize=1)
def neutral_words() -> frozenset[str]:
    """Words that state nothing about the patient (normal anatomy, grammar)."""
    lines = (_DATA / "neutral_words.txt").read_text().splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#")) | _FUNCTION


@lru_cache(maxsize=1)
def vocabulary_terms() -> frozenset[str]:
    """Lower-cased radiology terms: concept names and synonyms, X-ray imaging findings."""
    data = files("radiology_semantic") / "data"
    terms: set[str] = set()
    for c in json.loads((data / "medical_concepts.json").read_text()):
        # Modalities, techniques and physics ("chest x ray", "decubitus") name how a
        # study was made, not something about the patient.
        if c.get("concept_type") in _NOT_PATIENT:
            continue
        terms.add(c["name"])
        terms.update(c.get("synonyms") or ())
    for f in json.loads((data / "imaging_findings.json").read_text()):
        terms.add(f["name"])
    for key, syns in json.loads((data / "radiology_synonyms.json").read_text()).items():
        terms.add(key)
        terms.update(syns)
    out = set()
    for t in terms:
        words = _WORD.findall(t.lower())
        if words and len(" ".join(words)) >= _MIN_TERM_CHARS and len(words) <= _MAX_TERM_WORDS:
            out.add(" ".join(words))
    return frozenset(out)


@lru_cache(maxsize=1)
def vocabulary_words() -> frozenset[str]:
    """Single-word radiology terms (used to keep concept words out of the neutral list)."""
    return frozenset(t for t in vocabulary_terms() if " " not in t)


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


# Cue words the context rules read (negation, hedges, post-position verbs); masked so that
# only content words are left. Their meaning is judged by the labeler and rag/labeler/scope.
_CUES = re.compile(
    r"\b(?:seen|identified|visualized|present|appreciated|demonstrated|evident|noted|absent|"
    r"resolved|cleared|gone|excluded|unlikely|doubtful|questioned|likely|possible|evidence|"
    r"signs?|there|is|are|was|were|be|been|has|have|of|or|and|nor|no|not|without|may|might|"
    r"could|can|cannot)\b",
    re.IGNORECASE,
)


def leftover_text(sentence: str) -> str:
    """The sentence with finding mentions, cues and detail words blanked out."""
    text = sentence
    for rule in lx.RULES:
        text = _blank(text, rule.pattern)
    for pat in (
        lx.PSEUDO,
        lx.NEGATED_UNCERTAINTY,
        lx.PRE_NEGATION,
        lx.PRE_UNCERTAINTY,
        lx.TERMINATORS,
        _CUES,
        *all_detail_patterns(),
    ):
        text = _blank(text, pat)
    return text


def _is_neutral(word: str, neutral: frozenset[str]) -> bool:
    # A noun's plural or singular is as neutral as the form the data happened to show
    # ("area" / "areas"); only the regular -s inflection, nothing clinical hides in it.
    return word in neutral or (word.endswith("s") and word[:-1] in neutral) or f"{word}s" in neutral


def vocabulary_problems(sentence: str) -> list[str]:
    """Reasons for words no finding, cue or licensed detail accounts for."""
    words = _WORD.findall(leftover_text(sentence).lower())
    neutral = neutral_words()
    unexplained = [w for w in words if not _is_neutral(w, neutral)]
    if not unexplained:
        return []
    problems: list[str] = []
    terms = vocabulary_terms()
    covered: set[int] = set()
    # Longest vocabulary term over the leftover words first: "hiatal hernia", not "hernia".
    for n in range(min(_MAX_TERM_WORDS, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            span = set(range(i, i + n))
            if span & covered or all(_is_neutral(words[j], neutral) for j in span):
                continue
            term = " ".join(words[i : i + n])
            if term in terms:
                covered |= span
                problems.append(f"out_of_ontology:{term}")
    if any(not _is_neutral(w, neutral) for j, w in enumerate(words) if j not in covered):
        problems.append("unknown_word: a word that is neither a finding, a cue nor neutral")
    return problems
