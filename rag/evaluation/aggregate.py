"""results.json from per-case records: headline metrics, subgroups and encoder reliability.

Rates over drafted reports are None (null in JSON) when nothing was drafted: a run that
abstains on every case has no hallucination rate, not a perfect one. BLEU and ROUGE-L are
None when the dataset has no reference reports (NIH images carry labels only).
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.domain import Finding, State
from rag.evaluation import metrics as m
from rag.evaluation.judges import summarize as judge_summary
from rag.evaluation.reliability import encoder_reliability
from rag.evaluation.stated_attributes import summarize as attributes_summary

COVERAGES = (0.5, 0.7, 0.9)
# Case meta keys that define subgroups, in the order they are reported.
SUBGROUP_KEYS = ("sex", "age_band", "view_position")
AGE_BANDS = ("<40", "40-59", "60+", "unknown")
# Values are listed in this order within a subgroup (others alphabetically after).
_VALUE_ORDER = {v: i for i, v in enumerate(AGE_BANDS)}

Record = dict[str, object]


def age_band(age: int | None) -> str:
    """The age band of the subgroup table: <40, 40-59, 60+ (unknown without an age)."""
    if age is None:
        return AGE_BANDS[3]
    return AGE_BANDS[0] if age < 40 else AGE_BANDS[1] if age < 60 else AGE_BANDS[2]


def parse_states(d: dict[str, str]) -> dict[Finding, State]:
    """A record's stored labels back as ontology states."""
    return {Finding(f): State(s) for f, s in d.items()}


def _share(drafted: Sequence[Record], key: str) -> float | None:
    """Share of drafted reports whose per-case metric `key` lists anything."""
    if not drafted:
        return None
    # .get: records written before a metric existed count as having none of it.
    return sum(bool(r["metrics"].get(key)) for r in drafted) / len(drafted)  # type: ignore[attr-defined]


def core_metrics(records: Sequence[Record]) -> dict[str, object]:
    """Counts, coverage, hallucination/contradiction/unsupported rates and CheXpert F1."""
    drafted = [r for r in records if r["status"] == "drafted"]
    n, nd = len(records), len(drafted)
    sent = sum(r["metrics"]["n_sentences"] for r in drafted)  # type: ignore[index]
    unsup = sum(r["metrics"]["n_unsupported"] for r in drafted)  # type: ignore[index]
    refs = [parse_states(r["reference_labels"]) for r in drafted]  # type: ignore[arg-type]
    drafts = [parse_states(r["draft_labels"]) for r in drafted]  # type: ignore[arg-type]
    f1 = m.chexpert_f1(drafts, refs)
    if not nd:
        f1 |= {"chexpert_f1_micro": None, "chexpert_f1_macro": None, "chexpert_f1_micro_5": None}
    return {
        "n_cases": n,
        "n_drafted": nd,
        "n_abstained": n - nd,
        "coverage": nd / n if n else 0.0,
        "hallucinated_finding_rate": _share(drafted, "hallucinated"),
        "contradiction_rate": _share(drafted, "contradictions"),
        "hard_contradiction_rate": _share(drafted, "hard_contradictions"),
        "unsupported_sentence_rate": unsup / sent if sent else None,
        **f1,
    }


# What each subgroup reports (results.json and the HTML table).
SUBGROUP_COLUMNS = (
    "n_cases",
    "n_drafted",
    "coverage",
    "hallucinated_finding_rate",
    "contradiction_rate",
    "hard_contradiction_rate",
    "chexpert_f1_micro",
)


def subgroups(
    records: Sequence[Record], keys: Sequence[str] = SUBGROUP_KEYS
) -> dict[str, dict[str, dict[str, object]]]:
    """Per subgroup (e.g. sex = F): n_cases, coverage and the headline rates.

    Only keys some case's meta carries are reported, so datasets without demographics
    (IU X-ray) get an empty block.
    """
    out: dict[str, dict[str, dict[str, object]]] = {}
    for key in keys:
        groups: dict[str, list[Record]] = {}
        for r in records:
            value = (r.get("meta") or {}).get(key)  # type: ignore[union-attr]
            if value:
                groups.setdefault(str(value), []).append(r)
        if groups:
            out[key] = {
                v: {k: core_metrics(groups[v])[k] for k in SUBGROUP_COLUMNS}
                for v in sorted(groups, key=lambda v: (_VALUE_ORDER.get(v, len(_VALUE_ORDER)), v))
            }
    return out


def aggregate(records: Sequence[Record]) -> dict[str, object]:
    """results.json metrics from case records."""
    drafted = [r for r in records if r["status"] == "drafted"]
    loss = [
        None if r["status"] != "drafted" else int(bool(r["metrics"]["contradictions"]))  # type: ignore[index]
        for r in records
    ]
    scores = [r["score"] if r["status"] == "drafted" else None for r in records]
    hyps = [str(r["draft"]) for r in drafted]
    texts = [r["reference"] for r in drafted]
    # Text metrics need a reference report for every case, and something drafted.
    has_text = bool(drafted) and all(
        isinstance(r["reference"], str) and r["reference"] for r in records
    )
    res: dict[str, object] = {
        **core_metrics(records),
        "bleu4": m.bleu4(hyps, texts) if has_text else None,  # type: ignore[arg-type]
        "rouge_l": m.rouge_l(hyps, texts) if has_text else None,  # type: ignore[arg-type]
        "selective_risk_at_coverage": {
            str(c): m.selective_risk(scores, loss, c) for c in COVERAGES
        },
        "coverage_risk_curve": m.coverage_risk_curve(scores, loss),
    }
    abst: dict[str, int] = {}
    for r in records:
        for code in r["abstention"]:  # type: ignore[attr-defined]
            abst[code] = abst.get(code, 0) + 1
    res["abstention_reasons"] = abst
    res["subgroups"] = subgroups(records)
    # The same drafts as read by the verifier's labeler, the independent check and MeSH.
    res["judges"] = judge_summary(records)
    res["stated_attributes"] = attributes_summary(records)
    reliability = encoder_reliability(records)
    if reliability is not None:
        res["encoder_reliability"] = reliability
    return res
