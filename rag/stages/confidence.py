"""Label-set confidence: when finding probabilities are too close to call, say so.

A state of `present` or `absent` claims more certainty than a probability near the
decision boundary supports. Such findings are reasons to abstain, each with a
suggestion of what would settle it.
"""

from __future__ import annotations

from rag.domain import FINDING_NAMES, AbstentionReason, Finding, LabelSet, State

# What would help a reader settle each finding (radiology practice, not model output).
SUGGESTIONS: dict[Finding, str] = {
    Finding.pleural_effusion: "a lateral view (or lateral decubitus) would help",
    Finding.pneumothorax: "an expiratory or lateral decubitus view would help",
    Finding.cardiomegaly: "a PA view would help (AP projection magnifies the heart)",
    Finding.enlarged_cardiomediastinum: "a PA view or comparison with a prior would help",
    Finding.lung_lesion: "a lateral view or CT would characterise it",
    Finding.lung_opacity: "a lateral view would help localise it",
    Finding.consolidation: "a lateral view and clinical correlation would help",
    Finding.pneumonia: "clinical correlation or a follow-up radiograph would help",
    Finding.atelectasis: "a lateral view or follow-up radiograph would help",
    Finding.edema: "clinical correlation (BNP, fluid balance) would help",
    Finding.fracture: "dedicated rib or bone views would help",
    Finding.pleural_other: "comparison with prior imaging would help",
    Finding.support_devices: "a dedicated view of the device would help",
    Finding.no_finding: "a second reader would help",
}


def finding_confidence(probability: float) -> float:
    """Distance of a probability from a coin flip, scaled to [0, 1]."""
    return abs(probability - 0.5) * 2


def report_confidence(labels: LabelSet) -> float | None:
    """The least confident finding's confidence, or None without probabilities."""
    confs = [
        finding_confidence(lab.probability)
        for lab in labels.findings.values()
        if lab.probability is not None
    ]
    return min(confs) if confs else None


def stated_confidence(labels: LabelSet) -> float | None:
    """Least confident finding among those stated present or absent (None: none stated)."""
    confs = [
        finding_confidence(lab.probability)
        for lab in labels.findings.values()
        if lab.probability is not None and lab.state is not State.uncertain
    ]
    return min(confs) if confs else None


def low_confidence_reasons(labels: LabelSet, min_confidence: float) -> list[AbstentionReason]:
    """Findings stated present/absent whose probability is within the uncertainty band."""
    out = []
    for f, lab in labels.findings.items():
        if lab.probability is None or lab.state is State.uncertain:
            continue
        if finding_confidence(lab.probability) < min_confidence:
            out.append(
                AbstentionReason(
                    code="finding_in_uncertainty_band",
                    finding=f,
                    message=f"{FINDING_NAMES[f]} is labelled {lab.state.value} with probability "
                    f"{lab.probability:.2f}, inside the uncertainty band",
                    suggestion=f"uncertain {FINDING_NAMES[f]}: {SUGGESTIONS[f]}",
                )
            )
    return out
