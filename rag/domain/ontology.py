"""The fixed finding ontology (CheXpert's 14 observations) and label states."""

from collections.abc import Iterable, Mapping
from enum import StrEnum


class Finding(StrEnum):
    """One of CheXpert's 14 observations, with stable snake_case ids."""

    no_finding = "no_finding"
    enlarged_cardiomediastinum = "enlarged_cardiomediastinum"
    cardiomegaly = "cardiomegaly"
    lung_opacity = "lung_opacity"
    lung_lesion = "lung_lesion"
    edema = "edema"
    consolidation = "consolidation"
    pneumonia = "pneumonia"
    atelectasis = "atelectasis"
    pneumothorax = "pneumothorax"
    pleural_effusion = "pleural_effusion"
    pleural_other = "pleural_other"
    fracture = "fracture"
    support_devices = "support_devices"


class State(StrEnum):
    """What a label set (or a sentence) asserts about one finding."""

    present = "present"
    absent = "absent"
    uncertain = "uncertain"


# Human-readable names, used in templates, queries and messages.
FINDING_NAMES: dict[Finding, str] = {
    Finding.no_finding: "no finding",
    Finding.enlarged_cardiomediastinum: "enlarged cardiomediastinum",
    Finding.cardiomegaly: "cardiomegaly",
    Finding.lung_opacity: "lung opacity",
    Finding.lung_lesion: "lung lesion",
    Finding.edema: "pulmonary edema",
    Finding.consolidation: "consolidation",
    Finding.pneumonia: "pneumonia",
    Finding.atelectasis: "atelectasis",
    Finding.pneumothorax: "pneumothorax",
    Finding.pleural_effusion: "pleural effusion",
    Finding.pleural_other: "pleural abnormality",
    Finding.fracture: "fracture",
    Finding.support_devices: "support devices",
}

# The five findings most reports and benchmarks (CheXpert competition) focus on.
COMMON_FIVE: tuple[Finding, ...] = (
    Finding.atelectasis,
    Finding.cardiomegaly,
    Finding.consolidation,
    Finding.edema,
    Finding.pleural_effusion,
)


# When a report asserts a finding in several ways, the strongest claim wins, as in the
# CheXpert labeler: present > uncertain > absent.
CLAIM_RANK: dict[State, int] = {State.absent: 0, State.uncertain: 1, State.present: 2}


def report_states(readings: Iterable[Mapping[Finding, State]]) -> dict[Finding, State]:
    """A report's finding states from its sentences' readings; no_finding is derived.

    Any reader (the rule labeler, the independent check) aggregates the same way: the
    strongest claim per finding, then no_finding absent if anything but support devices
    is present or uncertain, present if everything read is absent.
    """
    out: dict[Finding, State] = {}
    for reading in readings:
        for f, st in reading.items():
            if f not in out or CLAIM_RANK[st] > CLAIM_RANK[out[f]]:
                out[f] = st
    abnormal = any(
        st is not State.absent
        for f, st in out.items()
        if f not in (Finding.no_finding, Finding.support_devices)
    )
    if abnormal:
        out[Finding.no_finding] = State.absent
    elif out:
        out[Finding.no_finding] = State.present
    return out
