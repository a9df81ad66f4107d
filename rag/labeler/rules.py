"""Rule-based radiology labeler (NegEx-style context over a CheXpert lexicon)."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.domain.ontology import CLAIM_RANK, Finding, State, report_states
from rag.labeler import lexicon as lx

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])|\n+|(?<=\.)(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z0-9']+")

_RANK = CLAIM_RANK


def split_sentences(text: str) -> list[str]:
    """Split report text into sentences (periods, question marks, line breaks)."""
    parts = (p.strip() for p in _SENT_SPLIT.split(text or ""))
    return [p for p in parts if p and _WORD.search(p)]


def _mask(text: str, pattern: re.Pattern[str], token: str = "") -> str:
    """Blank matches (keeping offsets stable) or replace them with a token of equal length."""

    def repl(m: re.Match[str]) -> str:
        n = len(m.group(0))
        if not token:
            return " " * n
        return (token + " " * n)[:n] if n >= len(token) else token[:n]

    return pattern.sub(repl, text)


def _window_words(text: str) -> int:
    return len(_WORD.findall(text))


class RuleLabeler:
    """Labels a sentence or a report with CheXpert finding states."""

    name = "radrag-rules-v2"  # v2: "Finding: absent" key-value statements

    def label(self, sentence: str) -> dict[Finding, State]:
        """Finding states asserted by one sentence; unmentioned findings are left out."""
        return dict(_label_cached(sentence))

    def label_report(self, text: str) -> dict[Finding, State]:
        """Aggregate sentence labels over a whole report; derives no_finding like CheXpert."""
        return report_states(self.label(s) for s in split_sentences(text))


@lru_cache(maxsize=65536)
def _label_cached(sentence: str) -> tuple[tuple[Finding, State], ...]:
    text = sentence.replace("\n", " ")
    text = _mask(text, lx.PSEUDO)
    text = _mask(text, lx.NEGATED_UNCERTAINTY, "UNCUE")
    explicit: dict[Finding, State] = {}
    global_: dict[Finding, State] = {}
    work = text
    for rule in lx.RULES:
        for m in list(rule.pattern.finditer(work)):
            state = rule.state if rule.fixed else _context_state(work, m.start(), m.end())
            if (
                rule.fixed
                and rule.state is not State.uncertain
                and _uncertain_before(work, m.start())
            ):
                state = State.uncertain
            target = global_ if len(rule.findings) > 1 and rule.state is State.absent else explicit
            for f in rule.findings:
                if f not in target or _RANK[state] > _RANK[target[f]]:
                    target[f] = state
        work = _mask(work, rule.pattern)
    # An explicit mention overrides a global statement in the same sentence
    # ("left basilar atelectasis, lungs otherwise clear").
    merged = {**global_, **explicit}
    if Finding.no_finding in merged and any(
        st is not State.absent
        for f, st in explicit.items()
        if f not in (Finding.no_finding, Finding.support_devices)
    ):
        merged[Finding.no_finding] = State.absent
    elif Finding.no_finding in merged:
        merged[Finding.no_finding] = State.present
    return tuple((f, merged[f]) for f in Finding if f in merged)


def _clause_before(text: str, start: int) -> str:
    """The text between the last scope terminator and a mention."""
    before = text[:start]
    cut = 0
    for m in lx.TERMINATORS.finditer(before):
        cut = m.end()
    return before[cut:]


def _trigger_in_scope(pattern: re.Pattern[str], clause: str) -> int | None:
    """Start of the first trigger whose scope still reaches the end of the clause."""
    for m in pattern.finditer(clause):
        if _window_words(clause[m.end() :]) <= lx.SCOPE_WORDS:
            return m.start()
    return None


def _negated_before(clause: str, pos: int) -> bool:
    """Whether a negation trigger governs position `pos` of the clause."""
    head = clause[:pos]
    return any(
        _window_words(head[m.end() :]) <= lx.SCOPE_WORDS for m in lx.PRE_NEGATION.finditer(head)
    )


def _uncertain_before(text: str, start: int) -> bool:
    return _trigger_in_scope(lx.PRE_UNCERTAINTY, _clause_before(text, start)) is not None


def _context_state(text: str, start: int, end: int) -> State:
    """Apply negation and uncertainty triggers around a mention (uncertainty wins)."""
    clause = _clause_before(text, start)
    after = text[end : end + lx.POST_SCOPE_CHARS]
    kv = lx.KEY_VALUE.match(after)
    if kv is not None:
        return State(kv.lastgroup)
    after = lx.TERMINATORS.split(after, maxsplit=1)[0]
    unc = _trigger_in_scope(lx.PRE_UNCERTAINTY, clause)
    neg = _trigger_in_scope(lx.PRE_NEGATION, clause)
    # Whichever cue opens the phrase governs it: "no suspicious nodule" is negated,
    # "possibly no effusion" is uncertain.
    if unc is not None and (neg is None or unc <= neg):
        # A hedge that is itself negated is a negation: "no consolidation to suggest
        # pneumonia or infection" denies the infection too.
        if _negated_before(clause, unc):
            return State.absent
        return State.uncertain
    if neg is not None:
        return State.absent
    if lx.POST_UNCERTAINTY.search(after):
        return State.uncertain
    if lx.POST_NEGATION.search(after):
        return State.absent
    return State.present
