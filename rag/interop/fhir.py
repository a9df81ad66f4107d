"""A drafting result as an HL7 FHIR R4 Bundle, validated with fhir.resources.

The models are fhir.resources' R4B package (FHIR 4.3.0), whose DiagnosticReport,
Observation, OperationOutcome, Device, Provenance and Bundle have R4's structure; the JSON is
what an R4 server takes.

- Drafted: a `collection` Bundle of one DiagnosticReport (status `preliminary`, `final` once
  signed; LOINC code by view count; `conclusion` = impression; `presentedForm` = the report
  text), one Observation per finding the report asserts (value from the local finding-state
  system), a Device naming what produced it (radrag, knowledge base, embedder, generator,
  model, prompt, image encoder versions) and a Provenance linking them.
- Abstained: no DiagnosticReport and no Observation. The Bundle holds an OperationOutcome
  (one `information` issue per abstention reason, code `incomplete`), the Device and a
  Provenance that targets the OperationOutcome: a receiving system files no report, and the
  reasons say why none was drafted.

The source study is a logical reference (identifier `urn:dicom:uid` = `urn:oid:<UID>`), not
an ImagingStudy resource: R4 requires ImagingStudy.subject, and radrag holds no patient
record; the receiving server resolves the reference to the study it already has.

Only verified report sentences reach a resource; verdicts and repairs are never read.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.provenance import Provenance

from rag.domain import Report, ReportResult
from rag.interop.claims import Claim, claims, impression_text
from rag.interop.codes import (
    ABSTENTION_SYSTEM,
    FINDING_SYSTEM,
    LOINC,
    RADIOLOGY_CATEGORY,
    STATE_DISPLAY,
    STATE_SYSTEM,
    finding_display,
    study_code,
)
from rag.interop.meta import StudyMeta

FHIR_JSON = "application/fhir+json"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_DICOM_UID = "urn:dicom:uid"


class _Ids:
    """urn:uuid ids derived from the content, so the same draft always gives the same Bundle."""

    def __init__(self, result: ReportResult, meta: StudyMeta) -> None:
        seed = hashlib.sha256(
            (result.model_dump_json() + meta.model_dump_json()).encode()
        ).hexdigest()
        self._ns = uuid.UUID(seed[:32])

    def __call__(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(self._ns, name)}"


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _study_ref(meta: StudyMeta) -> dict[str, Any] | None:
    """A logical reference to the source ImagingStudy by its StudyInstanceUID."""
    if meta.study_instance_uid is None:
        return None
    return {
        "type": "ImagingStudy",
        "identifier": {"system": _DICOM_UID, "value": f"urn:oid:{meta.study_instance_uid}"},
    }


def _device(result: ReportResult, meta: StudyMeta) -> dict[str, Any]:
    p = result.provenance
    parts = {
        "radrag": p.radrag_version,
        "knowledge-base": p.kb_version,
        "text-embedder": p.embedder,
        "generator": p.generator,
        "generator-model": p.model,
        "prompt": p.prompt_version,
        "image-encoder": meta.image_encoder,
    }
    return {
        "resourceType": "Device",
        "deviceName": [{"name": "radrag report drafter", "type": "user-friendly-name"}],
        "version": [{"type": {"text": k}, "value": v} for k, v in parts.items() if v],
    }


def _observation(c: Claim, status: str, meta: StudyMeta) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "category": [_coding(_OBS_CATEGORY, "imaging", "Imaging")],
        "code": _coding(FINDING_SYSTEM, c.finding.value, finding_display(c.finding)),
        "valueCodeableConcept": _coding(STATE_SYSTEM, c.state.value, STATE_DISPLAY[c.state]),
        "issued": meta.issued.isoformat(),
        "note": [{"text": t} for t in c.sentences],
    }
    if (ref := _study_ref(meta)) is not None:
        obs["derivedFrom"] = [ref]
    return obs


def _with_conclusion(dr: dict[str, Any], impression: str) -> dict[str, Any]:
    # FHIR strings may not be empty: a report without an impression has no conclusion.
    if impression.strip():
        dr["conclusion"] = impression
    return dr


def _report(report: Report, status: str, meta: StudyMeta, results: list[str]) -> dict[str, Any]:
    code, display = study_code(meta.view_count)
    text = report.text()
    dr: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [_coding(LOINC, *RADIOLOGY_CATEGORY)],
        "code": _coding(LOINC, code, display),
        "issued": meta.issued.isoformat(),
        "result": [{"reference": r} for r in results],
        "presentedForm": [
            {
                "contentType": "text/plain; charset=utf-8",
                "language": "en",
                "title": "Chest X-ray report (draft)"
                if status != "final"
                else "Chest X-ray report",
                "data": base64.b64encode(text.encode()).decode(),
            }
        ],
    }
    if (ref := _study_ref(meta)) is not None:
        dr["imagingStudy"] = [ref]
    if meta.accession_number:
        acsn = _coding(_V2_0203, "ACSN", "Accession ID")
        dr["identifier"] = [{"type": acsn, "value": meta.accession_number}]
        dr["basedOn"] = [
            {"type": "ServiceRequest", "identifier": {"type": acsn, "value": meta.accession_number}}
        ]
    return _with_conclusion(dr, impression_text(report))


# Reasons whose message can quote what the LLM emitted (an invented evidence id, say): the
# export says what happened in fixed words instead.
_FIXED_MESSAGES = {"generator_invalid_output": "the LLM's answer did not follow the schema"}


def _outcome(result: ReportResult) -> dict[str, Any]:
    reasons = result.abstention.reasons if result.abstention else ()
    issues = [
        {
            "severity": "information",
            "code": "incomplete",
            "details": {
                "coding": [{"system": ABSTENTION_SYSTEM, "code": r.code}],
                "text": _FIXED_MESSAGES.get(r.code, r.message),
            },
            "diagnostics": r.suggestion or r.code,
        }
        for r in reasons
    ] or [{"severity": "information", "code": "incomplete", "details": {"text": "abstained"}}]
    return {"resourceType": "OperationOutcome", "issue": issues}


def _provenance(targets: list[str], device: str, meta: StudyMeta) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in targets],
        "recorded": meta.issued.isoformat(),
        "agent": [
            {
                "type": _coding(_PARTICIPANT, "assembler", "Assembler"),
                "who": {"reference": device},
            }
        ],
    }


_MODELS = {
    "DiagnosticReport": DiagnosticReport,
    "Observation": Observation,
    "OperationOutcome": OperationOutcome,
    "Device": Device,
    "Provenance": Provenance,
}


def build_bundle(result: ReportResult, meta: StudyMeta | None = None) -> Bundle:
    """The result as a validated FHIR Bundle (see the module docstring for its shape)."""
    meta = meta or StudyMeta()
    ids = _Ids(result, meta)
    status = "final" if meta.signed else "preliminary"
    device_url = ids("device")
    entries: list[tuple[str, dict[str, Any]]] = []
    if result.status == "drafted" and result.report is not None:
        found = claims(result.report)
        obs = [
            (ids(f"observation:{c.finding.value}"), _observation(c, status, meta)) for c in found
        ]
        report_url = ids("report")
        report = _report(result.report, status, meta, [u for u, _ in obs])
        entries = [(report_url, report), *obs]
        targets = [report_url, *(u for u, _ in obs)]
    else:
        outcome_url = ids("outcome")
        entries = [(outcome_url, _outcome(result))]
        targets = [outcome_url]
    entries.append((device_url, _device(result, meta)))
    entries.append((ids("provenance"), _provenance(targets, device_url, meta)))
    resources = [
        {"fullUrl": url, "resource": _MODELS[res["resourceType"]].model_validate(res)}
        for url, res in entries
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": meta.issued.isoformat(),
            "entry": resources,
        }
    )


def bundle_json(result: ReportResult, meta: StudyMeta | None = None) -> str:
    """The Bundle as FHIR JSON text."""
    return build_bundle(result, meta).model_dump_json(indent=2)
