"""The real-LLM challenge set: which IU cases, which label sets, which prompts, which sentences.

The drafts come from a real LLM (the unguarded ChatCAD-style baseline and a deliberately
weak prompt) on IU X-ray *validation* cases; the test split is never used. The label set a
draft is conditioned on comes from the reference report's human MeSH annotations, not from
the rule labeler, so the rules neither choose the cases nor write the truth. The truth of
each sentence is hand-labelled afterwards (see eval/challenge/README.md). I/O (the server,
the files) lives in scripts/make_llm_challenge.py; this module is pure.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from rag.adapters.iu_xray import IUReport
from rag.domain import FINDING_NAMES, Finding, LabelSet, State
from rag.evaluation.mesh import mesh_findings
from rag.labeler import split_sentences

_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
# The weak prompts, by source name: v1 (labels only, "helpful assistant": the small model
# mostly refuses or writes templates) and v2 (a radiologist, plain sentences, no rules).
WEAK_PROMPTS = {"weak": "weak_report/v1", "weak_prose": "weak_report/v2"}
_PHRASE = {State.present: "present", State.absent: "absent", State.uncertain: "possible"}
# MeSH headings whose modifiers say "enlarged" for the cardiomediastinal silhouette.
_CM_HEADS = {"Mediastinum": {"prominent", "enlarged", "widened"}}
_BORDERLINE_HEART = "Cardiac Shadow"


def mesh_label_states(report: IUReport) -> dict[str, str] | None:
    """The oracle label set read from the human MeSH terms, or None when unannotated.

    MeSH "normal" gives no_finding present. Otherwise every finding of the ontology is
    assessed: present when an annotator tagged it, absent when not (annotators tag what
    is abnormal). "Cardiac Shadow/enlarged" counts as cardiomegaly present and
    "Cardiac Shadow/borderline" as cardiomegaly uncertain; a prominent or enlarged
    mediastinum as enlarged cardiomediastinum. Support devices are assessed as well.
    """
    terms = [t.split("/") for t in report.mesh_major]
    if not terms or any(t[0] == "No Indexing" for t in terms):
        return None
    found = mesh_findings(report)
    if found == {Finding.no_finding}:
        return {Finding.no_finding.value: State.present.value}
    found.discard(Finding.no_finding)
    states = {f: State.absent for f in Finding if f is not Finding.no_finding}
    for f in found:
        states[f] = State.present
    for head, *mods in terms:
        if head in _CM_HEADS and _CM_HEADS[head] & set(mods):
            states[Finding.enlarged_cardiomediastinum] = State.present
        elif head == _BORDERLINE_HEART and "enlarged" in mods and "borderline" not in mods:
            states[Finding.cardiomegaly] = State.present
        elif head == _BORDERLINE_HEART and "borderline" in mods and not found_heart(states):
            states[Finding.cardiomegaly] = State.uncertain
    return {f.value: s.value for f, s in states.items()}


def found_heart(states: dict[Finding, State]) -> bool:
    """Whether cardiomegaly is already present (a borderline heart then stays present)."""
    return states[Finding.cardiomegaly] is State.present


def select_cases(
    reports: Sequence[IUReport], n: int, seed: int = 0, normal_share: float = 1 / 3
) -> list[tuple[IUReport, dict[str, str]]]:
    """A seeded sample of annotated reports: about `normal_share` MeSH-normal, rest abnormal."""
    normal, abnormal = [], []
    for rep in reports:
        states = mesh_label_states(rep) if rep.text else None
        if states is None:
            continue
        is_normal = states == {Finding.no_finding.value: State.present.value}
        has_finding = any(s != State.absent.value for s in states.values())
        (normal if is_normal else abnormal if has_finding else []).append((rep, states))
    rng = random.Random(seed)
    rng.shuffle(normal)
    rng.shuffle(abnormal)
    k = min(len(normal), round(n * normal_share))
    chosen = normal[:k] + abnormal[: n - k]
    return sorted(chosen, key=lambda rs: int(rs[0].id.removeprefix("CXR")))


def labels_text(labels: LabelSet) -> str:
    """The label set as the prompts show it, one finding a line."""
    return "\n".join(
        f"- {FINDING_NAMES[f]}: {_PHRASE[lab.state]}" for f, lab in labels.findings.items()
    )


def weak_messages(labels: LabelSet, version: str = "weak_report/v1") -> list[dict[str, str]]:
    """Chat messages of a weak prompt: labels only, no rules, no evidence."""
    folder = _PROMPTS / version
    system = (folder / "system.txt").read_text().strip()
    user = (folder / "user.txt").read_text().format(labels=labels_text(labels))
    return [{"role": "system", "content": system}, {"role": "user", "content": user.strip()}]


_HEADER = re.compile(r"\b(FINDINGS|IMPRESSION)\s*:", re.IGNORECASE)
# Markdown emphasis and list marks carry no claim; they are dropped so the item reads clean.
_MARKUP = re.compile(r"\*\*|__|^\s*(?:[#>*-]+|\d+[.)])\s+", re.MULTILINE)


def draft_sentences(text: str) -> list[str]:
    """A draft split as the unguarded baseline splits it (headers and markdown dropped)."""
    clean = _MARKUP.sub(" ", _HEADER.sub(" ", text))
    return [" ".join(s.split()) for s in split_sentences(clean)]


def normalise(sentence: str) -> str:
    """Lower-cased words only, to find verbatim copies of IU sentences."""
    return " ".join(re.findall(r"[a-z0-9]+", sentence.lower()))


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two labellings of the same items (1.0 when both are constant and equal)."""
    if len(a) != len(b) or not a:
        raise ValueError("two non-empty labellings of the same length are needed")
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    cats = set(a) | set(b)
    pe = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in cats)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)
