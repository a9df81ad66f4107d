"""Three judges of every drafted report, side by side, and how often they agree.

- `verifier`: the project's rule labeler reads the draft and the reference (the run's
  headline metrics). Circular for guarded drafts: the same labeler chose and verified them.
- `crosscheck`: the independent check (rag.crosscheck: medspaCy ConText, another vocabulary)
  reads the draft and the reference with `label_report`. Independent of the rule labeler;
  once the guard also calls it, guarded drafts have passed it sentence by sentence.
- `mesh`: the human MeSH major annotations of IU X-ray. A draft finding asserted present
  (by either reader) is a hallucination when the annotators did not mark it and neither
  reader finds it present or uncertain in the reference text; a finding the annotators
  marked is contradicted when the draft says it is absent (and no reader reads it present
  or uncertain in the draft). Only IU X-ray cases have MeSH terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rag.domain import Finding, State
from rag.evaluation import metrics as m
from rag.evaluation.mesh import findings_from_terms

JUDGES = ("verifier", "crosscheck", "mesh")
DESCRIPTIONS = {
    "verifier": "the project's rule labeler on draft and reference (circular for guarded "
    "drafts: it also picked and verified them)",
    "crosscheck": "the independent medspaCy ConText check (rag.crosscheck) on draft and "
    "reference; separate engine and vocabulary",
    "mesh": "human MeSH annotations of the reference (IU X-ray only); draft read by both readers",
}
MESH_KEY = "mesh_major"  # case meta: the reference's MeSH major terms, "|"-joined
_SKIP = (Finding.no_finding,)
_SAID = (State.present, State.uncertain)
Labels = Mapping[Finding, State]


def mesh_meta(terms: Iterable[str]) -> dict[str, str]:
    """Case meta carrying a report's MeSH terms ({} when it has none)."""
    kept = [t for t in terms if t and t.lower() != "no indexing"]
    return {MESH_KEY: "|".join(kept)} if kept else {}


def mesh_judge(
    drafts: Sequence[Labels], references: Sequence[Labels], mesh_terms: Iterable[str]
) -> dict[str, list[str]]:
    """Hallucinated and contradicted findings of a draft against the MeSH annotations.

    `drafts` and `references` are the readings of the draft and of the reference text by
    each reader; a finding counts as said when any reader says it.
    """
    truth = findings_from_terms(mesh_terms)
    in_text = {f for ref in references for f, st in ref.items() if st in _SAID}
    said = {f for d in drafts for f, st in d.items() if st in _SAID}
    present = {f for d in drafts for f, st in d.items() if st is State.present}
    denied = {f for d in drafts for f, st in d.items() if st is State.absent} - said
    order = list(Finding)
    return {
        "hallucinated": [
            f.value
            for f in order
            if f in present and f not in _SKIP and f not in truth and f not in in_text
        ],
        "contradictions": [f.value for f in order if f in denied and f in truth and f not in _SKIP],
    }


def judge_case(
    rule_draft: Labels,
    rule_reference: Labels,
    cross_draft: Labels,
    cross_reference: Labels,
    mesh: str | None,
) -> dict[str, object]:
    """The crosscheck and MeSH verdicts on one drafted case (the verifier's are the run's)."""
    out: dict[str, object] = {
        "crosscheck": {
            "draft_labels": {f.value: s.value for f, s in sorted(cross_draft.items())},
            "reference_labels": {f.value: s.value for f, s in sorted(cross_reference.items())},
            "hallucinated": [
                f.value for f in m.hallucinated(dict(cross_draft), dict(cross_reference))
            ],
            "contradictions": [
                f.value for f in m.contradictions(dict(cross_draft), dict(cross_reference))
            ],
        },
        "mesh": None,
    }
    if mesh:
        out["mesh"] = mesh_judge(
            (rule_draft, cross_draft), (rule_reference, cross_reference), mesh.split("|")
        )
    return out


def _flags(record: Mapping[str, object], judge: str, key: str) -> bool | None:
    """Whether one judge flags one drafted record; None when it has no verdict."""
    if judge == "verifier":
        return bool(record["metrics"].get(key))  # type: ignore[attr-defined]
    verdict = (record.get("judges") or {}).get(judge)  # type: ignore[attr-defined]
    return None if verdict is None else bool(verdict.get(key))


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Cohen's kappa of two binary raters (None without cases; 1.0 when both are constant
    and equal, 0.0 when chance agreement is total otherwise)."""
    n = len(a)
    if not n:
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    if pe >= 1.0:
        return 1.0 if po == 1.0 else 0.0
    return (po - pe) / (1 - pe)


def summarize(records: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """Per judge: cases judged and hallucination/contradiction rates; pairwise agreement."""
    drafted = [r for r in records if r["status"] == "drafted"]
    per: dict[str, dict[str, object]] = {}
    for j in JUDGES:
        judged = [r for r in drafted if _flags(r, j, "hallucinated") is not None]
        n = len(judged)
        per[j] = {
            "description": DESCRIPTIONS[j],
            "n_judged": n,
            "hallucinated_finding_rate": (
                sum(bool(_flags(r, j, "hallucinated")) for r in judged) / n if n else None
            ),
            "contradiction_rate": (
                sum(bool(_flags(r, j, "contradictions")) for r in judged) / n if n else None
            ),
        }
    agreement: dict[str, dict[str, object]] = {}
    for i, a in enumerate(JUDGES):
        for b in JUDGES[i + 1 :]:
            pair: dict[str, object] = {}
            for key, name in (
                ("hallucinated", "hallucination"),
                ("contradictions", "contradiction"),
            ):
                both = [
                    (fa, fb)
                    for r in drafted
                    if (fa := _flags(r, a, key)) is not None
                    and (fb := _flags(r, b, key)) is not None
                ]
                xs, ys = [x for x, _ in both], [y for _, y in both]
                pair[name] = {
                    "n": len(both),
                    "agreement": sum(x == y for x, y in both) / len(both) if both else None,
                    "kappa": cohen_kappa(xs, ys),
                }
            agreement[f"{a}~{b}"] = pair
    per["crosscheck"]["flagged_cases_oracle_disagreement"] = oracle_disagreements(drafted)
    return {**per, "agreement": agreement}


def oracle_disagreements(drafted: Sequence[Mapping[str, object]]) -> int | None:
    """Cases the crosscheck judge flags only where the draft says what its labels said.

    Such a flag is the two readers disagreeing about the reference text (the oracle label
    set is the rules' reading of it), not the draft departing from the labels it was
    given: every flagged finding is read in the draft in exactly the input state.
    """
    n, seen = 0, False
    for r in drafted:
        verdict = (r.get("judges") or {}).get("crosscheck")  # type: ignore[attr-defined]
        if verdict is None:
            continue
        seen = True
        flagged = set(verdict["hallucinated"]) | set(verdict["contradictions"])
        given: dict[str, str] = (r.get("inputs") or {}).get("labels", {})  # type: ignore[attr-defined]
        read: dict[str, str] = verdict.get("draft_labels", {})
        if flagged and all(read.get(f) == given.get(f) for f in flagged):
            n += 1
    return n if seen else None
