"""Side and severity in drafts: stated as the reference gives them, missing, or stated wrongly.

Judge: the attribute reader of rag.stages.prior (`attributes_in`), the one that also read
the reference's attributes into the oracle label set. It reads the draft sentence by
sentence, like a prior report. It is not independent of the oracle (the same reader on
both sides): it measures whether a generator states what it was given, not whether the
reader is right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rag.domain import Finding, FindingAttributes, LabelSet, State
from rag.ports import Labeler
from rag.stages.draft_schema import split_sentences
from rag.stages.prior import attributes_in

KINDS = ("laterality", "severity")  # what the target names: side and size/severity
Record = Mapping[str, object]


def expected(labels: LabelSet) -> dict[Finding, dict[str, str]]:
    """Per present finding, the side and severity its label set gives."""
    out: dict[Finding, dict[str, str]] = {}
    for f in labels.with_state(State.present):
        attrs = labels.attributes_of(f)
        given = {k: getattr(attrs, k).value for k in KINDS if getattr(attrs, k) is not None}
        if given:
            out[f] = given
    return out


def _said(draft: str, finding: Finding, labeler: Labeler) -> list[FindingAttributes]:
    """The attributes of every draft sentence that states the finding present."""
    return [
        attributes_in(s, finding)
        for s in split_sentences(draft)
        if labeler.label(s).get(finding) is State.present
    ]


def judge_attributes(draft: str, labels: LabelSet, labeler: Labeler) -> dict[str, object]:
    """Per finding with a given side or severity: 'correct', 'missing' or 'wrong:<kind>'."""
    verdicts: dict[str, str] = {}
    for f, given in expected(labels).items():
        said = _said(draft, f, labeler)
        wrong = sorted(
            {
                k
                for a in said
                for k in given
                if getattr(a, k) is not None and getattr(a, k).value != given[k]
            }
        )
        if wrong:
            verdicts[f.value] = "wrong:" + ",".join(wrong)
        elif any(all(getattr(a, k) is not None for k in given) for a in said):
            verdicts[f.value] = "correct"
        else:
            verdicts[f.value] = "missing"
    return verdicts


def summarize(records: Sequence[Record]) -> dict[str, object]:
    """Share of drafted cases with a given side/severity that state all of it; wrong cases."""
    judged = [
        r["attributes"]
        for r in records
        if r["status"] == "drafted" and r.get("attributes")  # type: ignore[union-attr]
    ]
    n = len(judged)
    correct = sum(all(v == "correct" for v in a.values()) for a in judged)  # type: ignore[union-attr]
    wrong = sum(any(v.startswith("wrong") for v in a.values()) for a in judged)  # type: ignore[union-attr]
    return {
        "judge": "rag.stages.prior.attributes_in (also read the oracle's attributes)",
        "n_cases": n,
        "stated_correctly_share": correct / n if n else None,
        "cases_stated_wrongly": wrong,
    }
