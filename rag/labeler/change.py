"""Change words: which kind of change since a prior study a sentence claims.

With a prior report a sentence may compare, but only as the two label sets allow
(rag.domain.compare): "New pleural effusion." needs the effusion absent before and
present now. The words are grouped by the change they claim; a comparison word outside
these groups ("compared with the prior study") claims no particular change.
"""

from __future__ import annotations

import re

from rag.domain.compare import ChangeKind

_CLAIMS: dict[str, tuple[re.Pattern[str], frozenset[ChangeKind]]] = {
    "new": (
        re.compile(r"\b(?:new|newly|developed|developing|appeared|interval development)\b", re.I),
        frozenset({ChangeKind.new}),
    ),
    "resolved": (
        re.compile(r"\b(?:resolved|resolution|resolving|cleared|clearing|no longer)\b", re.I),
        frozenset({ChangeKind.resolved}),
    ),
    "unchanged": (
        re.compile(
            r"\b(?:unchanged|stable|stably|again|persist\w*|re-?demonstrat\w*|remains?|remained|"
            r"still|similar|same|no (?:significant |interval )?change|not changed)\b",
            re.I,
        ),
        frozenset({ChangeKind.unchanged}),
    ),
    "increased": (
        re.compile(
            r"\b(?:larger|increas\w*|enlarging|bigger|greater|more|grown|growing|expanding|"
            r"progress\w*|worse\w*|worsening)\b",
            re.I,
        ),
        frozenset({ChangeKind.larger, ChangeKind.worsened}),
    ),
    "decreased": (
        re.compile(
            r"\b(?:smaller|decreas\w*|less|improv\w*|shrink\w*|regress\w*|better|reduc\w*)\b", re.I
        ),
        frozenset({ChangeKind.smaller, ChangeKind.improved}),
    ),
}


def claimed_changes(sentence: str) -> dict[str, frozenset[ChangeKind]]:
    """The change groups a sentence's words claim, each with the kinds that support it."""
    return {name: kinds for name, (pat, kinds) in _CLAIMS.items() if pat.search(sentence)}
