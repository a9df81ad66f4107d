"""The guard's challenge set: correct sentences and corrupted ones, with known answers.

Two parts:
- eval/challenge/handwritten.jsonl: sentences and label sets written by the team
  (correct statements, paraphrases, and each kind of corruption);
- generated at run time from IU X-ray reports that human MeSH annotators marked
  "normal" (so every finding is absent, an independent reference): their detail-free
  sentences are the correct cases, and deterministic edits of them the corrupted ones.
  IU text is CC BY-NC-ND, so these derived sentences are never written to the repo.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.adapters.iu_xray import IUReport
from rag.domain import Finding, LabelSet, Verdict
from rag.evaluation.mesh import mesh_findings
from rag.labeler import find_details, split_sentences
from rag.ports import Labeler
from rag.stages.verify import verify_text

HANDWRITTEN = Path(__file__).resolve().parents[2] / "eval" / "challenge" / "handwritten.jsonl"
CORRECT_KINDS = {"correct", "paraphrase", "given_detail"}
NORMAL = {"no_finding": "present"}


@dataclass(frozen=True)
class Case:
    """One challenge item: a text, its label set, and whether the guard should flag it."""

    id: str
    kind: str
    labels: dict[str, str]
    text: str
    expect_flagged: bool
    indication: str | None = None
    prior: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


def load_handwritten(path: Path = HANDWRITTEN) -> list[Case]:
    """The team-written cases."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(
                Case(
                    r["id"],
                    r["kind"],
                    r["labels"],
                    r["text"],
                    r["expect"] == "flagged",
                    r.get("indication"),
                    r.get("prior"),
                )
            )
    return out


# Deterministic corruptions of a correct negative sentence: (kind, function or None).
def _negation_flip(s: str) -> str | None:
    for pat, rep in (
        (r"\bThere is no\b", "There is"),
        (r"\bThere are no\b", "There are"),
        (r"^No (?:evidence of |definite )?", ""),
        (r"\bwithout\b", "with"),
        (r"\b(is|are) not\b", r"\1"),
        (r"\bno\b", ""),
    ):
        new = re.sub(pat, rep, s, count=1)
        if new != s:
            new = " ".join(new.split())
            return new[:1].upper() + new[1:]
    return None


def _certainty_flip(s: str) -> str | None:
    new = re.sub(r"^No (?:evidence of )?", "Possible ", s, count=1)
    return new if new != s else None


_EDITS = {
    "negation_flip": _negation_flip,
    "certainty_flip": _certainty_flip,
    "fabricated_finding": lambda s: s.rstrip(".") + ", and there is a pneumothorax.",
    "fabricated_measurement": lambda s: s.rstrip(".") + "; the heart measures 16.5 cm.",
    "fabricated_device": lambda s: s.rstrip(".") + ", with a right internal jugular catheter.",
    "fabricated_prior": lambda s: s.rstrip(".") + ", unchanged from the prior study.",
    # A side word on a negated statement is not a patient detail ("No left effusion." is
    # true when there is none), but a size word is a hedge: "No large pneumothorax."
    # leaves room for a small one, which the all-absent labels deny.
    "fabricated_detail": lambda s: re.sub(
        r"\b(effusions?|pneumothorax|consolidation|edema)\b", r"large \1", s, count=1
    ),
}


def generated_cases(
    reports: Iterable[IUReport], labeler: Labeler, max_sentences: int = 300, seed: int = 0
) -> list[Case]:
    """Correct sentences from MeSH-normal reports and their corrupted variants."""
    pool: dict[str, str] = {}
    for rep in reports:
        if mesh_findings(rep) != {Finding.no_finding}:
            continue
        for s in split_sentences(rep.text):
            s = " ".join(s.split())
            if labeler.label(s) and not find_details(s) and s[:1].isupper():
                pool.setdefault(s.lower(), s)
    rng = random.Random(seed)
    chosen = sorted(pool.values())
    rng.shuffle(chosen)
    cases: list[Case] = []
    for i, s in enumerate(chosen[:max_sentences]):
        cases.append(Case(f"iu-{i}", "correct", NORMAL, s, False))
        for kind, edit in _EDITS.items():
            new = edit(s)
            if new and new != s:
                cases.append(Case(f"iu-{i}-{kind}", kind, NORMAL, new, True))
    return cases


def _flagged(case: Case, labeler: Labeler) -> tuple[bool, list[str]]:
    verdicts = verify_text(
        case.text, LabelSet.from_states(case.labels), labeler, case.indication, case.prior
    )
    reasons = [r for v in verdicts for r in v.reasons]
    return any(v.verdict is not Verdict.supported for v in verdicts) or not verdicts, reasons


Check = Callable[[Case], tuple[bool, list[str]]]


def crosscheck_check(checker: object | None = None, allow_denied_ooo: bool = False) -> Check:
    """The independent check alone: a case is flagged when any sentence is not supported.

    `allow_denied_ooo` lets a negated term outside the ontology pass ("no adenopathy").
    """
    from rag.crosscheck import ContextChecker, cross_verdict

    cc = checker if isinstance(checker, ContextChecker) else ContextChecker()

    def check(case: Case) -> tuple[bool, list[str]]:
        labels = LabelSet.from_states(case.labels)
        results = [
            cross_verdict(cc.read(s), labels, allow_denied_out_of_ontology=allow_denied_ooo)
            for s in cc.sentences(case.text)
        ]
        reasons = [r for _, rs in results for r in rs]
        return (not results) or any(not ok for ok, _ in results), reasons

    return check


def combined_check(
    labeler: Labeler, checker: object | None = None, allow_denied_ooo: bool = False
) -> Check:
    """Both checks: flagged when either flags (a sentence passes only if both pass)."""
    cross = crosscheck_check(checker, allow_denied_ooo)

    def check(case: Case) -> tuple[bool, list[str]]:
        a, ra = _flagged(case, labeler)
        b, rb = cross(case)
        return a or b, ra + rb

    return check


def run(cases: Iterable[Case], labeler: Labeler, check: Check | None = None) -> dict[str, object]:
    """Detection recall per corruption kind and the false-alarm rate on correct cases.

    `check` replaces the verifier (default) by another guard, e.g. `crosscheck_check()`.
    """
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[dict[str, object]] = []
    for c in cases:
        flagged, reasons = check(c) if check is not None else _flagged(c, labeler)
        per[c.kind][0] += 1
        per[c.kind][1] += flagged
        if flagged != c.expect_flagged and len(misses) < 50:
            misses.append({"id": c.id, "kind": c.kind, "text": c.text, "reasons": reasons})
    kinds = {}
    for kind, (n, f) in sorted(per.items()):
        rate = f / n if n else 0.0
        key = "false_alarm_rate" if kind in CORRECT_KINDS else "recall"
        kinds[kind] = {"n": n, "flagged": f, key: rate}
    corrupted = [(n, f) for k, (n, f) in per.items() if k not in CORRECT_KINDS]
    correct = [(n, f) for k, (n, f) in per.items() if k in CORRECT_KINDS]
    return {
        "recall": sum(f for _, f in corrupted) / max(1, sum(n for n, _ in corrupted)),
        "false_alarm_rate": sum(f for _, f in correct) / max(1, sum(n for n, _ in correct)),
        "n_corrupted": sum(n for n, _ in corrupted),
        "n_correct": sum(n for n, _ in correct),
        "per_kind": kinds,
        "errors": misses,
    }


def iter_reports(reports: dict[str, IUReport], ids: list[str]) -> Iterator[IUReport]:
    """Reports of a split, skipping empty ones."""
    return (reports[i] for i in ids if reports[i].text)
