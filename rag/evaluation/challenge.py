"""The guard's challenge set: correct sentences and corrupted ones, with known answers.

Three sets:
- eval/challenge/handwritten.jsonl: sentences and label sets written by the team
  (correct statements, paraphrases, and each kind of corruption);
- generated at run time from IU X-ray reports that human MeSH annotators marked
  "normal" (so every finding is absent, an independent reference): their detail-free
  sentences are the correct cases, and deterministic edits of them the corrupted ones.
  IU text is CC BY-NC-ND, so these derived sentences are never written to the repo;
- eval/challenge/llm_validation.jsonl: sentences a real LLM wrote for IU validation cases,
  each labelled by hand (not by the rule labeler) against the case's MeSH-derived labels.

Each set is scored for any list of checks (rag/evaluation/checks.py), alone and combined.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.adapters.iu_xray import IUReport
from rag.domain import Finding, LabelSet, Verdict
from rag.evaluation.checks import AllOf, Check, Explains
from rag.evaluation.mesh import mesh_findings
from rag.labeler import find_details, split_sentences
from rag.ports import Labeler
from rag.stages.verify import verify_text

CHALLENGE_DIR = Path(__file__).resolve().parents[2] / "eval" / "challenge"
HANDWRITTEN = CHALLENGE_DIR / "handwritten.jsonl"
LLM_VALIDATION = CHALLENGE_DIR / "llm_validation.jsonl"
# Kinds of sentences the guard must pass (truth "correct").
GOOD_KINDS = frozenset({"correct", "paraphrase", "given_detail", "no_claim"})
CORRECT_KINDS = GOOD_KINDS
# Error kinds of the hand-labelled real-LLM set (eval/challenge/README.md defines each).
ERROR_KINDS = frozenset(
    {
        "contradiction",
        "out_of_ontology",
        "not_assessed",
        "unsupported_detail",
        "comparison_without_prior",
        "hedge_state_change",
        "other",
    }
)
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


_LLM_FIELDS = ("id", "case_id", "source", "labels", "text", "truth", "kind")


def load_llm(path: Path = LLM_VALIDATION) -> list[Case]:
    """The hand-labelled real-LLM sentences; a bad line raises ValueError naming it."""
    out, seen = [], set()
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not JSON ({exc.msg})") from None
        missing = [k for k in _LLM_FIELDS if k not in r]
        if missing:
            raise ValueError(f"{where}: missing field {missing[0]}")
        truth, kind = r["truth"], r["kind"]
        if truth not in ("correct", "bad"):
            raise ValueError(f"{where}: truth must be correct or bad, not {truth!r}")
        if kind not in (GOOD_KINDS if truth == "correct" else ERROR_KINDS):
            raise ValueError(f"{where}: kind {kind!r} does not fit truth {truth!r}")
        try:
            LabelSet.from_states(r["labels"])
        except ValueError as exc:
            raise ValueError(f"{where}: labels: {exc}") from None
        if r["id"] in seen:
            raise ValueError(f"{where}: duplicate id {r['id']}")
        seen.add(r["id"])
        meta = {"source": r["source"], "case_id": r["case_id"]}
        out.append(
            Case(
                r["id"],
                kind,
                r["labels"],
                r["text"],
                truth == "bad",
                r.get("indication"),
                r.get("prior"),
                meta,
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
    """Correct sentences from MeSH-normal reports and their corrupted variants.

    A sentence that names anything outside the 14 findings, even negated ("no
    adenopathy"), says what an all-absent label set cannot support, so it is no correct
    case. That is decided by the independent check's vocabulary (rag/crosscheck), not by
    the verifier's own, so the verifier's vocabulary errors still count as false alarms.
    """
    from rag.crosscheck import ContextChecker

    outside = ContextChecker()
    pool: dict[str, str] = {}
    for rep in reports:
        if mesh_findings(rep) != {Finding.no_finding}:
            continue
        for s in split_sentences(rep.text):
            s = " ".join(s.split())
            plain = labeler.label(s) and not find_details(s) and s[:1].isupper()
            if plain and not outside.read(s).out_of_ontology:
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


def run(cases: Iterable[Case], labeler: Labeler) -> dict[str, object]:
    """The verifier's detection recall per kind and its false-alarm rate on correct cases."""
    cases = list(cases)
    flags, reasons = zip(*(_flagged(c, labeler) for c in cases), strict=True) if cases else ((), ())
    return score(cases, list(flags), list(reasons))


def score(
    cases: Sequence[Case], flagged: Sequence[bool], reasons: Sequence[list[str]] | None = None
) -> dict[str, object]:
    """Recall on bad cases and false alarms on correct ones, overall, per kind, per source.

    `flagged[i]` says whether a check refused `cases[i]`. Misses (a bad case passed, a
    correct one refused) are listed, 50 at most, with the check's reasons when given.
    """
    if len(flagged) != len(cases):
        raise ValueError(f"{len(flagged)} verdicts for {len(cases)} cases")
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    src: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # bad, caught, good, alarm
    misses: list[dict[str, object]] = []
    for i, (c, f) in enumerate(zip(cases, flagged, strict=True)):
        per[c.kind][0] += 1
        per[c.kind][1] += f
        s = src[c.meta.get("source", "all")]
        s[0 if c.expect_flagged else 2] += 1
        s[1 if c.expect_flagged else 3] += f
        if f != c.expect_flagged and len(misses) < 50:
            miss: dict[str, object] = {"id": c.id, "kind": c.kind, "text": c.text}
            if reasons is not None:
                miss["reasons"] = reasons[i]
            misses.append(miss)
    kinds = {}
    for kind, (n, f) in sorted(per.items()):
        key = "false_alarm_rate" if kind in GOOD_KINDS else "recall"
        kinds[kind] = {"n": n, "flagged": f, key: f / n if n else 0.0}
    bad, caught, good, alarms = (sum(v[k] for v in src.values()) for k in range(4))
    out: dict[str, object] = {
        "recall": caught / bad if bad else None,
        "false_alarm_rate": alarms / good if good else None,
        "n_corrupted": bad,
        "n_correct": good,
        "per_kind": kinds,
    }
    if set(src) != {"all"}:
        out["per_source"] = {
            k: {
                "n_bad": v[0],
                "recall": v[1] / v[0] if v[0] else None,
                "n_correct": v[2],
                "false_alarm_rate": v[3] / v[2] if v[2] else None,
            }
            for k, v in sorted(src.items())
        }
    out["errors"] = misses
    return out


def evaluate(
    sets: Mapping[str, Sequence[Case]], checks: Sequence[Check]
) -> dict[str, dict[str, dict[str, object]]]:
    """Every check alone (and, with two or more, all of them combined) on every set."""
    all_checks = list(checks) + ([AllOf(checks)] if len(checks) > 1 else [])
    out: dict[str, dict[str, dict[str, object]]] = {}
    for set_name, cases in sets.items():
        out[set_name] = {}
        for check in all_checks:
            flags, why = [], []
            for c in cases:
                labels = LabelSet.from_states(c.labels)
                ok = check.verdict(c.text, labels, c.indication, c.prior)
                flags.append(not ok)
                explains = isinstance(check, Explains) and ok == c.expect_flagged
                why.append(check.explain(c.text, labels, c.indication, c.prior) if explains else [])
            out[set_name][check.name] = score(cases, flags, why)
    return out


def iter_reports(reports: dict[str, IUReport], ids: list[str]) -> Iterator[IUReport]:
    """Reports of a split, skipping empty ones."""
    return (reports[i] for i in ids if reports[i].text)
