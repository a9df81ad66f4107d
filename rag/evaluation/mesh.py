"""Agreement of the labeler with the IU X-ray reports' human MeSH annotations.

MeSH "major" terms were assigned by people reading each report; they are an independent
reference for the findings the two vocabularies share. They mark what is present, so
agreement is measured on presence (present, or present-or-uncertain) per finding.
"""

from __future__ import annotations

from collections.abc import Iterable

from rag.adapters.iu_xray import IUReport
from rag.domain import Finding, State
from rag.ports import Labeler

F = Finding
# MeSH heading (text before the first "/") -> finding. "Thickening" counts only with "pleura".
MESH_TO_FINDING: dict[str, Finding] = {
    "Cardiomegaly": F.cardiomegaly,
    "Pleural Effusion": F.pleural_effusion,
    "Pulmonary Atelectasis": F.atelectasis,
    "Opacity": F.lung_opacity,
    "Airspace Disease": F.lung_opacity,
    "Infiltrate": F.lung_opacity,
    "Nodule": F.lung_lesion,
    "Mass": F.lung_lesion,
    "Lung Neoplasms": F.lung_lesion,
    "Pulmonary Edema": F.edema,
    "Pulmonary Congestion": F.edema,
    "Pneumonia": F.pneumonia,
    "Pneumothorax": F.pneumothorax,
    "Consolidation": F.consolidation,
    "Fractures, Bone": F.fracture,
    "Catheters, Indwelling": F.support_devices,
    "Implanted Medical Device": F.support_devices,
    "Medical Device": F.support_devices,
    "Tube, Inserted": F.support_devices,
    "Surgical Instruments": F.support_devices,
}
SHARED = (*dict.fromkeys(MESH_TO_FINDING.values()), F.pleural_other, F.no_finding)


def mesh_findings(report: IUReport) -> set[Finding]:
    """Findings the human annotators marked present in a report."""
    return findings_from_terms(report.mesh_major)


def findings_from_terms(terms: Iterable[str]) -> set[Finding]:
    """Findings a list of MeSH major terms marks present (no_finding for "normal")."""
    out = set()
    for term in terms:
        head, *mods = term.split("/")
        if head in MESH_TO_FINDING:
            out.add(MESH_TO_FINDING[head])
        elif head == "Thickening" and "pleura" in mods:
            out.add(F.pleural_other)
        elif head.lower() == "normal":
            out.add(F.no_finding)
    return out


def _stats(tp: int, fp: int, fn: int, tn: int) -> dict[str, float | int]:
    n = tp + fp + fn + tn
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    po = (tp + tn) / n if n else 0.0
    pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n) if n else 0.0
    kappa = (po - pe) / (1 - pe) if pe < 1 else 0.0
    return {
        "support": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "kappa": kappa,
    }


def agreement(
    reports: Iterable[IUReport], labeler: Labeler, count_uncertain: bool = False
) -> dict[str, object]:
    """Per-finding precision/recall/F1/kappa of the labeler against MeSH, plus micro F1."""
    counts = {f: [0, 0, 0, 0] for f in SHARED}
    n = 0
    for rep in reports:
        if not rep.text:
            continue
        n += 1
        truth = mesh_findings(rep)
        got = labeler.label_report(rep.text)  # type: ignore[attr-defined]
        positive = {State.present, State.uncertain} if count_uncertain else {State.present}
        said = {f for f, st in got.items() if st in positive}
        for f in SHARED:
            t, p = f in truth, f in said
            counts[f][0 if t and p else 1 if p else 2 if t else 3] += 1
    per = {f.value: _stats(*c) for f, c in counts.items()}
    tp = sum(c[0] for f, c in counts.items() if f is not F.no_finding)
    fp = sum(c[1] for f, c in counts.items() if f is not F.no_finding)
    fn = sum(c[2] for f, c in counts.items() if f is not F.no_finding)
    micro = _stats(tp, fp, fn, 0)
    return {
        "reports": n,
        "count_uncertain_as_positive": count_uncertain,
        "micro_f1_findings": micro["f1"],
        "micro_precision": micro["precision"],
        "micro_recall": micro["recall"],
        "per_finding": per,
    }
