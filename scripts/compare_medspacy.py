"""Compare medspacy's ConText with the project's rule labeler on the guard's challenge set.

Run in an environment with medspacy==1.3.1 and the project on PYTHONPATH, e.g.
  python -m venv /tmp/msv && /tmp/msv/bin/pip install medspacy==1.3.1 pydantic-settings
  PYTHONPATH=. /tmp/msv/bin/python scripts/compare_medspacy.py
Both labelers use the same mention vocabulary (rag/labeler/lexicon.py); medspacy's ConText
(default rules) decides negation and uncertainty for every mention, including phrases whose
polarity the project's rules fix ("heart size is normal").
"""

from __future__ import annotations

import json
import sys

import medspacy
from medspacy.ner import TargetRule

from rag.domain import Finding, State
from rag.evaluation.challenge import load_handwritten, run
from rag.labeler import RuleLabeler
from rag.labeler import lexicon as lx

_RANK = {State.absent: 0, State.uncertain: 1, State.present: 2}


class MedspacyLabeler:
    """ConText over target rules built from the project's mention regexes."""

    name = "medspacy-context"

    def __init__(self) -> None:
        self.nlp = medspacy.load()
        rules = []
        for i, rule in enumerate(lx.RULES):
            for f in rule.findings:
                rules.append(TargetRule(f"r{i}", f.value, pattern=rule.pattern.pattern))
        self.nlp.get_pipe("medspacy_target_matcher").add(rules)

    def label(self, sentence: str) -> dict[Finding, State]:
        """Finding states from ConText attributes of each matched mention."""
        out: dict[Finding, State] = {}
        for ent in self.nlp(sentence).ents:
            if ent._.is_negated:
                st = State.absent
            elif ent._.is_uncertain or ent._.is_hypothetical:
                st = State.uncertain
            else:
                st = State.present
            f = Finding(ent.label_)
            if f not in out or _RANK[st] > _RANK[out[f]]:
                out[f] = st
        return out


def main() -> int:
    """Print recall and false alarms for both labelers on the handwritten set."""
    cases = load_handwritten()
    res = {}
    for labeler in (RuleLabeler(), MedspacyLabeler()):
        r = run(cases, labeler)
        res[labeler.name] = {
            "recall": r["recall"],
            "false_alarm_rate": r["false_alarm_rate"],
            "per_kind": r["per_kind"],
            "errors": r["errors"][:8],
        }
    json.dump(res, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
