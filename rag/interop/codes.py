"""Code systems of the exports: LOINC for the study, local systems for findings and states.

No registry package on these machines ships SNOMED CT or RadLex codes for CheXpert's 14
observations (radiology-semantic-dict carries names and definitions, no codes), so findings
and their states use two local code systems, published as FHIR CodeSystem resources by
`code_systems()`. Their canonical ids are URNs: they name the systems without pretending to a
web address the project does not own.
"""

from __future__ import annotations

from typing import Any

from rag.domain import FINDING_NAMES, Finding, State

LOINC = "http://loinc.org"
# The report's LOINC code by the number of images it was drafted from. Unknown (a label-set
# request) counts as the usual PA + lateral study, which is what the IU X-ray reports describe.
STUDY_CODES: dict[int, tuple[str, str]] = {
    1: ("36554-4", "XR Chest Single view"),
    2: ("36643-5", "XR Chest 2 Views"),
}
DEFAULT_STUDY_CODE = STUDY_CODES[2]
# LOINC part "Radiology", the DiagnosticReport category US Core uses for imaging reports.
RADIOLOGY_CATEGORY = ("LP29684-5", "Radiology")

FINDING_SYSTEM = "urn:radrag:fhir:CodeSystem:chexpert-finding"
STATE_SYSTEM = "urn:radrag:fhir:CodeSystem:finding-state"
# Abstention reason codes (rag.domain.AbstentionReason.code), in OperationOutcome issues.
ABSTENTION_SYSTEM = "urn:radrag:fhir:CodeSystem:abstention-reason"
# DICOM private coding scheme designator for the same two systems ("99" prefix: local).
DICOM_SCHEME = "99RADRAG"

STATE_DISPLAY: dict[State, str] = {
    State.present: "Present",
    State.absent: "Absent",
    State.uncertain: "Uncertain (may be present)",
}


def study_code(view_count: int | None) -> tuple[str, str]:
    """The LOINC (code, display) for a chest X-ray study of this many images."""
    if view_count is None:
        return DEFAULT_STUDY_CODE
    return STUDY_CODES.get(view_count, DEFAULT_STUDY_CODE)


def finding_display(finding: Finding) -> str:
    """Display text of a finding code (sentence case)."""
    name = FINDING_NAMES[finding]
    return name[:1].upper() + name[1:]


def code_systems() -> list[dict[str, Any]]:
    """The two local code systems as FHIR R4 CodeSystem resources (JSON-ready dicts)."""
    findings = {
        "resourceType": "CodeSystem",
        "id": "chexpert-finding",
        "url": FINDING_SYSTEM,
        "name": "RadragChexpertFinding",
        "title": "CheXpert's 14 chest X-ray observations (radrag ids)",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "concept": [{"code": f.value, "display": finding_display(f)} for f in Finding],
    }
    states = {
        "resourceType": "CodeSystem",
        "id": "finding-state",
        "url": STATE_SYSTEM,
        "name": "RadragFindingState",
        "title": "Whether a finding is present, absent or uncertain on the study",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "concept": [{"code": s.value, "display": STATE_DISPLAY[s]} for s in State],
    }
    return [findings, states]
